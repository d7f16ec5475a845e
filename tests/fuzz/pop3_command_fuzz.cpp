// libFuzzer harness for pop3d's input parsers: a POP3 command line (lib/pop3_command)
// and a SASL PLAIN response (lib/sasl_plain), plus the wire encoder (lib/pop3_wire)
// on arbitrary message bytes: parsed fields obey their grammar, the encoder's
// output is the same however the input is cut, and its count matches its output.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pop3_command.hpp"
#include "pop3_wire.hpp"
#include "sasl_plain.hpp"

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

std::string encode(std::string_view in, size_t piece, std::optional<uint64_t> lines, uint64_t& octets) {
  quail::WireEncoder enc(lines);
  std::string out;
  for (size_t i = 0; i < in.size(); i += piece) {
    if (!enc.feed(in.substr(i, piece), out)) break;
  }
  enc.finish(out);
  octets = enc.octets();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  quail::Pop3Command c;
  auto p = quail::parse_pop3_command(in, c);
  if (p == quail::Pop3Parse::ok) {
    require(c.verb != quail::Pop3Verb::unknown && c.keyword.size() <= 4);
    if (c.n) require(*c.n <= 999999999);
    if (c.verb == quail::Pop3Verb::retr || c.verb == quail::Pop3Verb::dele || c.verb == quail::Pop3Verb::top) require(c.n.has_value());
    for (unsigned char ch : c.arg) require(ch >= 0x20 && ch != 0x7f);
    if (c.verb == quail::Pop3Verb::auth && !c.initial.empty()) {
      if (auto l = quail::decode_sasl_plain(c.initial)) {
        require(!l->user.empty() && !l->password.view().empty());
        require(l->user.find('\0') == std::string::npos && l->password.view().find('\0') == std::string::npos);
      }
    }
  }
  if (auto l = quail::decode_sasl_plain(in)) require(!l->user.empty());

  uint64_t whole_octets = 0, cut_octets = 0;
  std::string whole = encode(in, in.size() ? in.size() : 1, std::nullopt, whole_octets);
  size_t piece = size ? data[0] % 17 + 1 : 1;
  require(encode(in, piece, std::nullopt, cut_octets) == whole && cut_octets == whole_octets);
  // Every line of the output ends in CRLF, and the count is the output less the stuffing dots.
  require(whole.empty() || (whole.size() >= 2 && whole.compare(whole.size() - 2, 2, "\r\n") == 0));
  size_t stuffed = 0;
  for (size_t i = 0; i < whole.size(); ++i) {
    if (whole[i] == '\n') require(i > 0 && whole[i - 1] == '\r');
    bool line_start = i == 0 || whole[i - 1] == '\n';
    if (line_start && whole[i] == '.') {
      require(i + 1 < whole.size() && whole[i + 1] == '.');
      ++stuffed;
    }
  }
  require(whole_octets == whole.size() - stuffed);
  uint64_t top_octets = 0;
  std::string top = encode(in, piece, size ? data[size - 1] % 4 : 0, top_octets);
  require(whole.compare(0, top.size(), top) == 0 || top.size() <= whole.size() + 2);
  return 0;
}
