// The POP3 wire form: see pop3_wire.hpp.
#include "pop3_wire.hpp"

#include <cerrno>
#include <unistd.h>

namespace quail {

bool WireEncoder::feed(std::string_view chunk, std::string& out) {
  size_t i = 0;
  while (i < chunk.size() && !done_) {
    if (at_line_start_) {
      if (stuff_ && chunk[i] == '.') out += '.';
      at_line_start_ = false;
    }
    size_t lf = chunk.find('\n', i);
    size_t end = lf == std::string_view::npos ? chunk.size() : lf;
    if (end > i) {
      out.append(chunk.substr(i, end - i));
      octets_ += end - i;
      line_len_ += end - i;
      prev_cr_ = chunk[end - 1] == '\r';
    }
    if (lf == std::string_view::npos) break;
    if (!prev_cr_) {
      out += '\r';
      ++octets_;
    }
    out += '\n';
    ++octets_;
    bool empty_line = line_len_ == 0 || (line_len_ == 1 && prev_cr_);
    line_len_ = 0;
    prev_cr_ = false;
    at_line_start_ = true;
    if (limit_) {
      if (in_body_) {
        done_ = ++body_lines_ >= *limit_;
      } else if (empty_line) {
        in_body_ = true;
        done_ = *limit_ == 0;
      }
    }
    i = lf + 1;
  }
  return !done_;
}

void WireEncoder::finish(std::string& out) {
  if (done_ || at_line_start_) return;
  if (!prev_cr_) {
    out += '\r';
    ++octets_;
  }
  out += '\n';
  ++octets_;
  at_line_start_ = true;
}

std::optional<uint64_t> wire_size(int fd) {
  WireEncoder enc(std::nullopt, false);
  std::string scratch;
  char buf[65536];
  off_t at = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    at += n;
    scratch.clear();
    enc.feed(std::string_view(buf, static_cast<size_t>(n)), scratch);
  }
  scratch.clear();
  enc.finish(scratch);
  return enc.octets();
}

}  // namespace quail
