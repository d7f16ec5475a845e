// The SPF evaluator's and the DMARC lookup's DNS through lib/dns_resolver
// (libunbound, control/dnsservers).
#pragma once
#include "dmarc.hpp"
#include "dns_resolver.hpp"
#include "spf.hpp"

namespace quail::mailauth {

class ResolverDns : public spf::Dns {
 public:
  explicit ResolverDns(dns::Resolver& r) : r_(r) {}
  spf::Answer txt(const std::string& name, std::vector<std::string>& out) override;
  spf::Answer addresses(const std::string& name, bool v6, std::vector<std::string>& out) override;
  spf::Answer mx(const std::string& name, std::vector<std::string>& out) override;
  spf::Answer ptr(const spf::IpAddress& ip, std::vector<std::string>& out) override;
  // DMARC's TXT lookup of _dmarc names.
  dmarc::Lookup dmarc_txt(const std::string& name, std::vector<std::string>& out);
  // DKIM's key lookups go straight to the resolver (lib/dkim's TxtLookup).
  dns::Resolver& resolver() { return r_; }

 private:
  dns::Resolver& r_;
};

}  // namespace quail::mailauth
