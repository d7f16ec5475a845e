// The SMTP dialog held with a client refused at connection for a DNS
// blocklist (control/dnsblrcpt 0): by dnsbl in front of smtpd, or by smtpd
// itself on the resident dnsbl's verdict.
#pragma once
#include <string>

namespace quail {

// On fds 0 and 1: greets with 554 5.7.1 text, answers 503 until QUIT (221),
// EOF, a timeout or 20 commands.
void refuse_dnsbl_session(const std::string& me, const std::string& text);

}  // namespace quail
