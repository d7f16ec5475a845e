// Who may send to whom: relay control (control/rcpthosts, local domains,
// RELAYCLIENT) and RCPT-time refusal of local addresses that do not exist, with
// local-deliver's own lookup (DESIGN.md, "Security and policy").
#pragma once
#include <string>
#include <string_view>

#include "address.hpp"
#include "settings.hpp"

namespace quail::smtpd {

struct RcptVerdict {
  int code = 250;
  std::string_view enhanced = "2.1.5";
  std::string text;    // the reply text after the codes
  std::string reason;  // for the log (a lookup error's reason), "" otherwise
  bool ok() const { return code == 250; }
};

// True when domain is listed in rcpthosts exactly, or under a ".parent" entry.
bool rcpthosts_match(const std::vector<std::string>& rcpthosts, const std::string& domain);

// True when a local part could name another host through a local domain: "%", "!"
// or a quoted "@" (the percent hack, UUCP bang paths).
bool relay_trick(const Address& a);

// The verdict on one recipient. relay_allowed: RELAYCLIENT or an authenticated session.
RcptVerdict check_recipient(const Settings& s, const Address& a, bool relay_allowed);

// The envelope address for RCPT TO:<postmaster> (no domain): postmaster at
// control/me when it is local, else at the first local domain.
Address postmaster_address(const Settings& s);

}  // namespace quail::smtpd
