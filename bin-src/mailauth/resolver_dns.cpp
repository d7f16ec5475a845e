// SPF and DMARC lookups through libunbound: see resolver_dns.hpp.
#include "resolver_dns.hpp"

namespace quail::mailauth {
namespace {

spf::Answer answer(dns::DnsStatus s) {
  switch (s) {
    case dns::DnsStatus::ok: return spf::Answer::ok;
    case dns::DnsStatus::nodata: return spf::Answer::nodata;
    case dns::DnsStatus::nxdomain: return spf::Answer::nxdomain;
    case dns::DnsStatus::temporary: return spf::Answer::temporary;
  }
  return spf::Answer::temporary;
}

}  // namespace

spf::Answer ResolverDns::txt(const std::string& name, std::vector<std::string>& out) {
  std::string why;
  return answer(r_.txt(name, out, why));
}

spf::Answer ResolverDns::addresses(const std::string& name, bool v6, std::vector<std::string>& out) {
  std::string why;
  return answer(r_.address_records(name, v6, out, why));
}

spf::Answer ResolverDns::mx(const std::string& name, std::vector<std::string>& out) {
  std::string why;
  std::vector<MxRecord> mx;
  dns::DnsStatus s = r_.mx(name, mx, why);
  for (auto& m : mx) out.push_back(m.host);
  return answer(s);
}

spf::Answer ResolverDns::ptr(const spf::IpAddress& ip, std::vector<std::string>& out) {
  std::string why;
  return answer(r_.ptr(ip.str(), out, why));
}

dmarc::Lookup ResolverDns::dmarc_txt(const std::string& name, std::vector<std::string>& out) {
  switch (txt(name, out)) {
    case spf::Answer::ok: return dmarc::Lookup::ok;
    case spf::Answer::temporary: return dmarc::Lookup::temporary;
    default: return dmarc::Lookup::none;
  }
}

}  // namespace quail::mailauth
