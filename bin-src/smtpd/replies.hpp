// What smtpd says: reply lines (RFC 5321 4.2, RFC 2034 enhanced codes) and the
// EHLO keyword list. Reply texts may quote client input; they are made safe here.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "line_io.hpp"
#include "settings.hpp"

namespace quail::smtpd {

// Queues "code enhanced text" (enhanced may be "": greetings, EHLO, 354).
void reply(LineIo& io, int code, std::string_view enhanced, std::string_view text);
// Queues a multi-line reply: "code-line" ... "code line".
void reply_lines(LineIo& io, int code, const std::vector<std::string>& lines);

struct SessionFeatures {
  bool tls = false;            // the TLS stage sets it once the session is encrypted
  bool authenticated = false;  // the AUTH stage sets it
  bool starttls = false;       // offer STARTTLS: a certificate and tlsd exist, not in TLS yet
  bool auth = false;           // offer AUTH: TLS on (or PLAINTEXTLOGIN), not authenticated yet
};

// The EHLO keywords after the greeting line. The TLS and AUTH stages add
// STARTTLS and AUTH here, from features (RFC 3207: no STARTTLS once in TLS).
std::vector<std::string> ehlo_keywords(const Settings& s, const SessionFeatures& features);

}  // namespace quail::smtpd
