// DNS through libunbound for the programs that look names up (remote-deliver's MX
// and address lookups; TXT records for the mail-authentication checks): forwarded
// to control/dnsservers when it names servers, else to /etc/resolv.conf's. Trusts
// nothing in the answers beyond their wire format. A program using this file links
// libunbound through quail_link_dns() (cmake/dns.cmake); the others never load it.
#pragma once
#include <string>
#include <vector>

#include "dns_rdata.hpp"
#include "result.hpp"

struct ub_ctx;

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
  Resolver(Resolver&& o) noexcept : ctx_(o.ctx_) { o.ctx_ = nullptr; }
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
  explicit Resolver(ub_ctx* ctx) : ctx_(ctx) {}
  ub_ctx* ctx_ = nullptr;
};

}  // namespace quail::dns

namespace quail::rd {
using quail::dns::DnsStatus;
using quail::dns::Resolver;
}  // namespace quail::rd
