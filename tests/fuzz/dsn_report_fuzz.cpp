// libFuzzer harness for the DSN builder (lib/dsn_report) and the remote-reply
// reader (lib/bounce): reasons come from remote servers, addresses and ORCPT/ENVID
// from SMTP clients. Input: NUL-separated address, ORCPT, ENVID, reason; the
// first byte picks the action and flags. Whatever the input, every header line
// of the notice is one line under 998 bytes without control bytes, and a report
// with only ASCII fields is ASCII.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "bounce.hpp"
#include "dsn_report.hpp"

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

std::string_view next_field(std::string_view& in) {
  size_t nul = in.find('\0');
  std::string_view f = in.substr(0, nul);
  in = nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t flags = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  quail::DsnRecipient r;
  r.address = std::string(next_field(in));
  r.orcpt = std::string(next_field(in));
  std::string envid(next_field(in));
  r.reason = std::string(in);
  r.action = static_cast<quail::DsnAction>(flags % 5);
  quail::DsnSpec s;
  s.me = "mx.example.test";
  s.from = "MAILER-DAEMON@mx.example.test";
  s.to = "bob@example.test";
  s.envid = envid;
  s.boundary = "b";
  s.message_id = "x@mx.example.test";
  s.arrival = 1700000000;
  s.now = 1700000100;
  s.retry_until = (flags & 0x08) ? 1700604800 : 0;
  s.content = (flags & 0x10) ? quail::DsnContent::headers : quail::DsnContent::full;
  s.utf8_original = flags & 0x20;
  s.eight_bit = flags & 0x40;
  s.recipients = {r, r};
  quail::DsnText t = quail::build_dsn(s);
  bool ascii_fields = true;
  for (unsigned char c : r.address + r.orcpt + envid) ascii_fields = ascii_fields && c < 0x80;
  size_t pos = 0;
  while (pos < t.head.size()) {
    size_t nl = t.head.find('\n', pos);
    require(nl != std::string::npos);  // the head ends in a newline
    std::string_view line(t.head.data() + pos, nl - pos);
    require(line.size() < 998);
    for (unsigned char c : line) {
      require(c >= 0x20 || c == '\t');
      require(c != 0x7f);
      if (ascii_fields) require(c < 0x80);
    }
    pos = nl + 1;
  }
  require(t.tail == "\n--b--\n");
  auto rr = quail::remote_reply(r.reason);
  require(rr.reply.size() <= r.reason.size());
  require(std::string_view(r.reason).substr(r.reason.size() - rr.reply.size()) == rr.reply);
  return 0;
}
