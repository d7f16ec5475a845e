// What mailauth answers: the SPF check at MAIL FROM and the verdict at the end
// of DATA (DMARC, the Authentication-Results field, Received-SPF), with the
// policy of its control files. The frames are lib/mailauth_wire's; the fields
// are listed in man/mailauth.8, INTERFACE.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "dmarc.hpp"
#include "psl.hpp"
#include "resolver_dns.hpp"
#include "result.hpp"
#include "spf.hpp"

namespace quail::mailauth {

struct Policy {
  std::string authserv_id;   // control/authservid
  std::string me;            // control/me, for %{r} and Received-SPF
  bool spf_reject = false;   // control/spfreject: 550 5.7.23 on fail
  bool spf_tempfail = false; // control/spftempfail: 451 4.7.24 on temperror
  bool spf_received = false; // control/spfreceived: add Received-SPF
  bool dmarc_reject = false; // control/dmarcreject: 550 5.7.1 on p=reject failures
  bool dmarc_quarantine = false;  // control/dmarcquarantine: mark p=quarantine failures
  std::string psl_path;      // control/publicsuffix
  std::vector<std::string> dns_servers;
};

Result<Policy> load_policy(const std::string& root);

class Checker {
 public:
  Checker(Policy p, dns::Resolver& r) : p_(std::move(p)), dns_(r) {}
  // fields: "spf", client IP, HELO, sender ("" for the null sender).
  std::vector<std::string> spf(const std::vector<std::string>& req);
  // The message (smtpd's Received field first) is in fd.
  std::vector<std::string> message(int fd);
  // The SPF verdict alone, for `mailauth spf`.
  spf::Verdict check_spf(const std::string& ip, const std::string& sender, const std::string& helo);

 private:
  const PublicSuffixList& psl();
  Policy p_;
  ResolverDns dns_;
  std::optional<PublicSuffixList> psl_;
  // The transaction's SPF check (each MAIL FROM asks again).
  spf::Verdict spf_;
  bool spf_helo_ = false;
  std::string ip_, sender_, helo_;
};

}  // namespace quail::mailauth
