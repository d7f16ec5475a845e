// Reading and rewriting the submitted message: see message.hpp.
#include "message.hpp"

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <sys/random.h>
#include <unistd.h>

namespace quail::submit {

Result<bool> InputReader::next(std::string& line) {
  line.clear();
  if (done_) return false;
  for (;;) {
    size_t nl = buf_.find('\n', scan_);
    if (nl != std::string::npos) {
      line.assign(buf_, pos_, nl + 1 - pos_);
      pos_ = scan_ = nl + 1;
      break;
    }
    scan_ = buf_.size();
    if (eof_) {
      if (pos_ >= buf_.size()) {
        done_ = true;
        return false;
      }
      line.assign(buf_, pos_, std::string::npos);
      pos_ = scan_ = buf_.size();
      // A last line cut after its CR lost only its LF: store it as a line end.
      if (line.back() == '\r') line.pop_back();
      break;
    }
    if (pos_ > 0) {  // keep only the unfinished line
      buf_.erase(0, pos_);
      scan_ -= pos_;
      pos_ = 0;
    }
    char chunk[65536];
    ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(ErrorKind::io_read, "read the message");
    }
    if (n == 0) {
      eof_ = true;
    } else {
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }
  if (line.size() >= 2 && line[line.size() - 2] == '\r' && line.back() == '\n') line.erase(line.size() - 2, 1);
  if (dot_ends_ && (line == ".\n" || line == ".")) {
    // sendmail's rule without -i: no dot-unstuffing, the line simply ends the input.
    done_ = true;
    line.clear();
    return false;
  }
  return true;
}

Result<InputHeader> read_header(InputReader& in) {
  InputHeader h;
  std::string section;
  std::string line;
  for (bool first = true;; first = false) {
    auto more = in.next(line);
    if (!more) return more.error();
    if (!*more) {
      h.ended = true;
      break;
    }
    // An mbox separator before the header is the envelope of another system,
    // not part of the message: sendmail and Postfix drop it too.
    if (first && line.starts_with("From ")) continue;
    HeaderLine kind = classify_header_line(line);
    if (kind == HeaderLine::blank) break;
    if (kind == HeaderLine::field || (kind == HeaderLine::continuation && !section.empty())) {
      if (line.back() != '\n') line += '\n';
      section += line;
      continue;
    }
    // Not a field: the header ends without a blank line and this line is body.
    h.first_body_line = std::move(line);
    break;
  }
  // The lines were sorted by the parser's own rules, so this cannot fail; if it
  // ever did, refusing the message beats queuing a header we cannot read.
  auto fields = parse_header(section);
  if (!fields) return fields.error();
  h.fields = std::move(*fields);
  return h;
}

std::string rewrite_header(const std::vector<HeaderField>& fields, const Additions& add) {
  std::string out;
  bool date = false, id = false, from = false;
  for (const auto& f : fields) {
    // Blind copies stay blind: Bcc is removed whether or not -t read it (as qmail-inject and Postfix do).
    if (f.is("bcc") || f.is("resent-bcc")) continue;
    date = date || f.is("date");
    id = id || f.is("message-id");
    from = from || f.is("from");
    out += f.raw;
  }
  if (!date) out += "Date: " + add.date + "\n";
  if (!id) out += "Message-ID: " + add.message_id + "\n";
  if (!from) out += "From: " + add.from + "\n";
  out += "\n";
  return out;
}

std::string make_message_id(const std::string& host) {
  unsigned char r[8] = {};
  if (::getrandom(r, sizeof r, 0) != static_cast<ssize_t>(sizeof r)) {
    // No entropy: time in ns and pid still make the id unique on this host.
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    for (size_t i = 0; i < sizeof r; ++i) r[i] = static_cast<unsigned char>(ts.tv_nsec >> (i * 4));
  }
  char hex[17];
  for (size_t i = 0; i < sizeof r; ++i) std::snprintf(hex + 2 * i, 3, "%02x", r[i]);
  return "<" + std::to_string(std::time(nullptr)) + "." + std::to_string(::getpid()) + "." + hex + "@" + host + ">";
}

}  // namespace quail::submit
