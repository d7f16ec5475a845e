// Fuzzes smtpd's DATA/BDAT decoder (bin-src/smtpd/data_decoder): the end of data
// is exactly the first <CRLF>.<CRLF> (or ".<CRLF>" at the start), the result does
// not depend on how reads split the input, and faults are never lost.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "../../bin-src/smtpd/data_decoder.cpp"

using quail::smtpd::DataDecoder;

namespace {

struct Run {
  std::string out;
  size_t consumed = 0;
  bool done, bare_cr, bare_lf, nul, long_line;
  uint64_t size;
  unsigned received;
};

Run run(std::string_view in, DataDecoder::Mode mode, size_t step) {
  DataDecoder d(mode);
  Run r{};
  while (r.consumed < in.size() && !d.done()) {
    size_t n = std::min(step, in.size() - r.consumed);
    size_t used = d.feed(in.substr(r.consumed, n), r.out);
    r.consumed += used;
    if (used < n) break;
  }
  if (mode == DataDecoder::Mode::chunked) d.finish(r.out);
  r.done = d.done();
  r.bare_cr = d.bare_cr();
  r.bare_lf = d.bare_lf();
  r.nul = d.nul();
  r.long_line = d.long_line();
  r.size = d.size();
  r.received = d.received();
  return r;
}

bool same(const Run& a, const Run& b) {
  return a.out == b.out && a.consumed == b.consumed && a.done == b.done && a.bare_cr == b.bare_cr &&
         a.bare_lf == b.bare_lf && a.nul == b.nul && a.long_line == b.long_line && a.size == b.size &&
         a.received == b.received;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // First octet: the mode and the size of the second split.
  auto mode = (data[0] & 1) ? DataDecoder::Mode::chunked : DataDecoder::Mode::dot;
  size_t step = 1 + (data[0] >> 1);
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);

  Run whole = run(in, mode, in.size() ? in.size() : 1);
  if (!same(whole, run(in, mode, 1)) || !same(whole, run(in, mode, step))) __builtin_trap();

  if (mode == DataDecoder::Mode::dot) {
    size_t end = std::string_view::npos;
    if (in.substr(0, 3) == ".\r\n") {
      end = 3;
    } else if (size_t p = in.find("\r\n.\r\n"); p != std::string_view::npos) {
      end = p + 5;
    }
    if (whole.done != (end != std::string_view::npos)) __builtin_trap();
    if (whole.consumed != (whole.done ? end : in.size())) __builtin_trap();
  } else if (whole.done || whole.consumed != in.size()) {
    __builtin_trap();
  }
  // A CR in the output only ever comes from a bare CR; without bare LFs every LF
  // stands for a CRLF, so the wire size is the output plus one octet per line.
  if (!whole.bare_cr && whole.out.find('\r') != std::string::npos) __builtin_trap();
  if (!whole.nul && whole.out.find('\0') != std::string::npos) __builtin_trap();
  if (!whole.bare_lf) {
    auto lfs = static_cast<uint64_t>(std::count(whole.out.begin(), whole.out.end(), '\n'));
    if (whole.size != whole.out.size() + lfs) __builtin_trap();
  }
  return 0;
}
