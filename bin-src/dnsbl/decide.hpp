// One connection's verdict: control/dnswl, dnsbl and dnsblrcpt read, the
// client looked up, the outcome logged. Shared by the wrapper (dnsbl PROGRAM)
// and each process of the resident dnsbl (dnsbl -d).
#pragma once
#include <string>

#include "dnsbl_wire.hpp"

namespace quail::dnsbl {

struct Decision {
  DnsblVerdict verdict;
  std::string me;  // control/me, for a refusal at connection
};

// Fails open: a control file that does not read or parse, or lists that
// answer nothing in control/timeoutdnsbl, give a pass (logged).
Decision decide(const std::string& root, const std::string& ip);

}  // namespace quail::dnsbl
