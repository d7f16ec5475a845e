// smtpd's abuse controls for one session: rate limits per client address and
// per authenticated user, greylisting, the DNSBL verdict the dnsbl program left
// in RBLSMTPD, and the tarpit. State lives in lib/state_store (control/store); a store
// that fails makes these checks fail open. Policy: man/smtpd.8, ABUSE CONTROL.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "address.hpp"
#include "policy.hpp"
#include "settings.hpp"
#include "abuse_keys.hpp"
#include "state_store.hpp"

namespace quail::smtpd {

struct AbuseConfig {
  bool greylist = false;
  bool grey_spf_pass = false;  // control/greyspfpass: SPF pass skips greylisting
  int64_t grey_delay = 300, grey_window = 86400, grey_allow = 2592000;
  int64_t conn_limit = 60, msg_limit = 1000, rcpt_limit = 5000, user_msg_limit = 500, user_rcpt_limit = 2000;
  int64_t tarpit_count = 5, tarpit_delay = 5, tarpit_max = 20;
};

class Abuse {
 public:
  explicit Abuse(const Settings& s) : s_(s) {}
  // At the greeting: reads the control files and counts the connection. A refusal
  // (421: over the connection limit, or a malformed control file) ends the session.
  std::optional<RcptVerdict> connect();
  // At MAIL: counts the message against the client's or the user's hourly limit.
  std::optional<RcptVerdict> mail(std::string_view user);
  // A recipient that passed the address checks: the DNSBL verdict, the recipient
  // limits, then greylisting. postmaster: RCPT TO:<postmaster> or postmaster@ a local domain.
  // spf_pass: the sender passed SPF at MAIL (mailauth), which control/greyspfpass may exempt.
  std::optional<RcptVerdict> rcpt(std::string_view sender, const Address& a, bool postmaster, std::string_view user,
                                  bool spf_pass = false);
  // Before each RCPT reply once `refused` recipients were refused: sleeps
  // tarpitdelay past tarpitcount; true past tarpitmax (the caller says 421 and ends).
  bool tarpit(unsigned refused);

 private:
  StateStore* store();
  std::optional<RcptVerdict> count(LimitKind k, bool user, std::string_view who, int64_t limit);
  std::optional<RcptVerdict> greylist(std::string_view sender, const Address& a);
  void store_failed(const Error& e);

  const Settings& s_;
  AbuseConfig c_;
  std::unique_ptr<StateStore> store_;
  bool store_down_ = false;
  bool trusted_ = false;     // RELAYCLIENT: no per-address limits, no greylisting
  bool grey_exempt_ = false; // DNSWL or NOGREYLIST from the environment
  bool grey_renewed_ = false;
  std::string rbl_;          // RBLSMTPD's text: refuse recipients but postmaster
};

}  // namespace quail::smtpd
