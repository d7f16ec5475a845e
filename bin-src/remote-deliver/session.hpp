// One SMTP client session on an open connection (RFC 5321): greeting, EHLO (HELO
// fallback), STARTTLS, AUTH (open_session), then for each message as many
// transactions as the peer's recipient limit needs, pipelined when offered
// (RFC 2920) (send_message), as often as a kept run has messages. Decides each
// recipient's outcome or says the next host should be tried. Trusts nothing the
// peer says.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "conn.hpp"
#include "request.hpp"
#include "smtp_reply.hpp"
#include "smtp_routes.hpp"

namespace quail::rd {

struct Timeouts {
  int connect_ms = 60000;
  int greeting_ms = 300000;
  int command_ms = 300000;
  int data_ms = 600000;
};

// The host one session talks to and how.
struct Target {
  std::string host;  // the MX or relay name (SNI, verification), or the address of a literal
  bool literal = false;
  std::string ip;
  uint16_t port = 25;
  TlsMode tls = TlsMode::may;
  bool skip_tls = false;          // a second attempt after opportunistic STARTTLS failed
  const SmtpAuth* auth = nullptr; // credentials for this relay, if any
  std::string label() const;      // "mx.example [192.0.2.1]" for reasons and logs
};

struct Settings {
  std::string me;  // control/me: the EHLO name
  Timeouts timeouts;
  TlsContexts* tls = nullptr;
};

class Signer;

// The message as sent: its wire form as stored (8-bit) and, made on demand, as
// converted for a peer without 8BITMIME; each form DKIM-signed as it is sent.
// Refers to the message: lives no longer.
class WireMessage {
 public:
  explicit WireMessage(const std::string& message) : message_(message) {}
  void sign_with(const Signer* s) { signer_ = s; }
  const std::string& get(bool downgrade);

 private:
  const std::string& message_;
  const Signer* signer_ = nullptr;
  std::string eight_, seven_;
};

struct Outcome {
  char letter = 0;  // 'r' accepted (the final K/Z/D decides), 'h' failed, 's' deferred; 0 undecided
  std::string text;
};

struct SessionResult {
  bool try_next = false;     // nothing decided: another address or host may take the message
  bool retry_plain = false;  // opportunistic STARTTLS failed: this address may be tried without it
  std::string why;           // with try_next: the reason, ending in its RFC 3463 code
  std::vector<Outcome> rcpts;
  std::string accepted;      // the final K text when some transaction's data was accepted
  bool reusable = false;     // every transaction ended with a reply: the next MAIL may follow
};

// What the greeting, EHLO and STARTTLS established on a connection.
struct Greeted {
  bool esmtp = true;
  EhloOffer offer;
};

// Greeting, EHLO (HELO fallback), STARTTLS, AUTH. A result with try_next (and
// perhaps retry_plain) when the host cannot take mail; without it, g is filled.
// q is the first message of the session (its id and domain for logs and reasons).
SessionResult open_session(Conn& c, const Request& q, const Target& t, const Settings& s, Greeted& g);
// The transactions of one message on an opened session; never QUITs.
SessionResult send_message(Conn& c, const Greeted& g, const Request& q, const Target& t, const Settings& s,
                           WireMessage& wire);
// QUIT, waiting at most ms for the reply.
void quit_session(Conn& c, const Target& t, int ms);

}  // namespace quail::rd
