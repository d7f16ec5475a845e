// DNS for the programs that look names up: forwarded to control/dnsservers when
// it names servers, else to /etc/resolv.conf's. Trusts nothing in the answers
// beyond their wire format; names are checked as decode_dns_name checks them.
// Two implementations of this one interface (cmake/dns.cmake):
// - libunbound (dns_resolver.cpp, quail_link_dns): remote-deliver, whose context
//   serves a kept run of deliveries;
// - c-ares (dns_resolver_stub.cpp, quail_link_stub_dns): the programs started per
//   SMTP session or message (mailauth, dnsbl, list-post) and quail-dkim. A
//   libunbound context costs ~1.1 ms of CPU at its first query (its random
//   generator's seeding, a table of 65,536 ports); a c-ares channel ~0.05 ms
//   (bench/README.md, "mailauth's resolver").
#pragma once
#include <string>
#include <vector>

#include "dns_rdata.hpp"
#include "result.hpp"

namespace quail::dns {

enum class DnsStatus {
  ok,         // records found
  nodata,     // the name exists without records of the type
  nxdomain,   // the name does not exist
  temporary,  // SERVFAIL, a timeout, no server answered
};

using quail::MxRecord;

class Resolver {
 public:
  // servers: "ip" or "ip@port" entries; empty means /etc/resolv.conf.
  static Result<Resolver> create(const std::vector<std::string>& servers);
  Resolver(Resolver&& o) noexcept : impl_(o.impl_) { o.impl_ = nullptr; }
  Resolver& operator=(Resolver&&) = delete;
  ~Resolver();

  DnsStatus mx(const std::string& domain, std::vector<MxRecord>& out, std::string& why);
  // IPv6 then IPv4 addresses of host, as text.
  DnsStatus addresses(const std::string& host, std::vector<std::string>& out, std::string& why);
  // TXT records of name, each record's character-strings joined (RFC 7208 3.3,
  // RFC 6376 3.6.2.2). A malformed record is skipped.
  DnsStatus txt(const std::string& name, std::vector<std::string>& out, std::string& why);
  // Only the A (v6 false) or only the AAAA records of host, as text (SPF's a, mx, exists).
  DnsStatus address_records(const std::string& host, bool v6, std::vector<std::string>& out, std::string& why);
  // The PTR names of an address given as text (SPF's ptr and %{p}).
  DnsStatus ptr(const std::string& ip, std::vector<std::string>& out, std::string& why);

 private:
  struct Impl;  // the implementation's state (a libunbound context or a c-ares channel)
  explicit Resolver(Impl* impl) : impl_(impl) {}
  Impl* impl_ = nullptr;
};

}  // namespace quail::dns

namespace quail::rd {
using quail::dns::DnsStatus;
using quail::dns::Resolver;
}  // namespace quail::rd
