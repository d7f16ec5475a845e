// The SMTP dialog dnsbl holds itself with a client refused at connection.
#pragma once
#include <string>
#include <string_view>

namespace quail::dnsbl {

// Greets with 554 5.7.1 text, answers 503 until QUIT (221), EOF, a timeout or 20 commands.
void refuse_session(const std::string& me, const std::string& text);
// text with anything but printable ASCII replaced, at most 400 characters.
std::string safe_text(std::string_view s);

}  // namespace quail::dnsbl
