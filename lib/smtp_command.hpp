// SMTP command lines (RFC 5321 4.1, with the ESMTP parameters of RFC 1870, 6152,
// 3461, 6531, 3030) and reply lines (RFC 5321 4.2, RFC 3463 codes). Strict
// parsers of outside input: nothing here trusts the peer; fuzzed.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "address.hpp"
#include "result.hpp"

namespace quail {

enum class SmtpVerb { helo, ehlo, mail, rcpt, data, bdat, rset, noop, quit, vrfy, expn, help, starttls, auth };

struct EsmtpParam {
  std::string keyword;  // uppercased
  std::string value;    // as sent (case kept); empty when the parameter has no "="
  bool has_value = false;
};

struct SmtpCommand {
  SmtpVerb verb = SmtpVerb::noop;
  std::string argument;            // HELO/EHLO/VRFY/EXPN/HELP/NOOP/AUTH: the text after the verb
  Address path;                    // MAIL, RCPT (null for MAIL FROM:<>)
  bool postmaster = false;         // RCPT TO:<postmaster> without a domain (RFC 5321 4.5.1)
  bool source_route = false;       // the path carried a source route; it was dropped
  bool utf8_path = false;          // the path has non-ASCII octets (needs SMTPUTF8)
  std::vector<EsmtpParam> params;  // MAIL, RCPT; keywords unique
  uint64_t chunk_size = 0;         // BDAT
  bool last = false;               // BDAT ... LAST
  const EsmtpParam* param(std::string_view keyword) const;
};

// Parses one command line without its CRLF. Error kinds say which reply fits:
//   not_found  unknown verb                         (500 5.5.1)
//   format     bad command or parameter syntax      (501 5.5.4)
//   permanent  malformed address in MAIL/RCPT       (501 5.1.7 / 5.1.3)
//   too_long   address over the RFC 5321 limits     (501 5.1.7 / 5.1.3)
Result<SmtpCommand> parse_smtp_command(std::string_view line);

// The value of MAIL's SIZE parameter (RFC 1870 size-value, 1*20DIGIT): the declared
// size, UINT64_MAX for a 20-digit value past it; nullopt when malformed.
std::optional<uint64_t> parse_size_value(std::string_view value);

// The verb's name as RFC 5321 writes it ("MAIL").
std::string_view smtp_verb_name(SmtpVerb v);

// RFC 3461 xtext (ENVID, ORCPT's address): printable ASCII but "+" and "=",
// with "+XX" hex escapes (upper-case hex).
bool valid_xtext(std::string_view s);

// ---- replies (a client's view: remote-deliver)

struct SmtpReplyLine {
  int code = 0;       // 200..599
  bool last = false;  // "250 text" (true) or "250-text" (false)
  std::string text;   // after the separator
};
// Parses "ddd text", "ddd-text" or "ddd"; format error otherwise.
Result<SmtpReplyLine> parse_reply_line(std::string_view line);

struct SmtpReply {
  int code = 0;
  std::string enhanced;            // "5.1.1" when the first line starts with one matching the code's class
  std::vector<std::string> lines;  // texts of every line, enhanced code removed
  // All lines joined by "; ".
  std::string text() const;
};

// Collects the lines of one (possibly multi-line) reply.
class SmtpReplyReader {
 public:
  // Adds a line; true once the reply is complete (take() it). A malformed line or
  // a code that changes inside a reply is a format error.
  Result<bool> add(std::string_view line);
  SmtpReply take();

 private:
  SmtpReply cur_;
  bool started_ = false;
};

// The enhanced status code at the start of text ("2.1.5 ok" -> "2.1.5") when its
// class matches the reply code's first digit; "" otherwise.
std::string enhanced_code_of(int code, std::string_view text);

}  // namespace quail
