// The connection-time refusal (control/dnsblrcpt 0): RFC 5321 3.1's 554
// greeting, then 503 to every command until QUIT, so the client hears why and
// closes cleanly, and no session is held for it.
#include "dnsbl_refuse.hpp"

#include "dnsbl_wire.hpp"
#include "line_io.hpp"

namespace quail {
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

}  // namespace

void refuse_dnsbl_session(const std::string& me, const std::string& text) {
  // Reply text may come from a DNS TXT record: only printable ASCII goes on the wire.
  const std::string safe = dnsbl_safe_text(text);
  LineIo io(0, 1, refusal_timeout_ms);
  io.write("554 5.7.1 " + safe + "\r\n");
  std::string line;
  for (int i = 0; i < max_commands; ++i) {
    if (io.read_line(line, 1000) != IoStatus::ok) break;
    if (upper4(line) == "QUIT") {
      io.write("221 2.0.0 " + me + " closing connection\r\n");
      break;
    }
    io.write("503 5.7.1 " + safe + "\r\n");
  }
  io.flush();
}

}  // namespace quail
