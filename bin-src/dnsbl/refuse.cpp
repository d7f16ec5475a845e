// The connection-time refusal (control/dnsblrcpt 0): RFC 5321 3.1's 554
// greeting, then 503 to every command until QUIT, so the client hears why and
// closes cleanly; smtpd is never started for it.
#include "refuse.hpp"

#include "line_io.hpp"

namespace quail::dnsbl {
namespace {

constexpr int refusal_timeout_ms = 30000;
constexpr int max_commands = 20;

std::string upper4(const std::string& s) {
  std::string out = s.substr(0, 4);
  for (auto& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// Reply text may come from a DNS TXT record: only printable ASCII goes on the wire.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 400)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

}  // namespace

void refuse_session(const std::string& me, const std::string& text) {
  LineIo io(0, 1, refusal_timeout_ms);
  io.write("554 5.7.1 " + printable(text) + "\r\n");
  std::string line;
  for (int i = 0; i < max_commands; ++i) {
    if (io.read_line(line, 1000) != IoStatus::ok) break;
    if (upper4(line) == "QUIT") {
      io.write("221 2.0.0 " + me + " closing connection\r\n");
      break;
    }
    io.write("503 5.7.1 " + printable(text) + "\r\n");
  }
  io.flush();
}

std::string safe_text(std::string_view s) { return printable(s); }

}  // namespace quail::dnsbl
