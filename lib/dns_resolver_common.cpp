// What both implementations of dns_resolver.hpp share: built into each of their
// libraries (cmake/dns.cmake), so it is written once and stands on the calls
// each of them defines.
#include "dns_resolver.hpp"

namespace quail::dns {

DnsStatus Resolver::addresses(const std::string& host, std::vector<std::string>& out, std::string& why) {
  bool any_nodata = false;
  DnsStatus worst = DnsStatus::nxdomain;
  for (bool v6 : {true, false}) {
    DnsStatus st = address_records(host, v6, out, why);
    if (st == DnsStatus::temporary) worst = DnsStatus::temporary;
    if (st == DnsStatus::nodata) any_nodata = true;
  }
  if (!out.empty()) return DnsStatus::ok;
  if (worst == DnsStatus::temporary) return worst;
  return any_nodata ? DnsStatus::nodata : DnsStatus::nxdomain;
}

}  // namespace quail::dns
