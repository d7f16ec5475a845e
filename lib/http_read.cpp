// Reading one HTTP request from a descriptor within its bounds and a deadline:
// see http_read.hpp. The parsing itself is http_request's.
#include "http_read.hpp"
#include "clock.hpp"

#include <cerrno>
#include <poll.h>
#include <unistd.h>

namespace quail::http {
namespace {

enum class Got { data, eof, timeout, error };

// Appends what fd has, waiting until the deadline at most.
Got read_some(int fd, std::string& buf, size_t want, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - monotonic_ms();
    if (left <= 0) return Got::timeout;
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Got::error;
    if (n == 0) return Got::timeout;
    char chunk[4096];
    ssize_t r = ::read(fd, chunk, want < sizeof chunk ? want : sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Got::error;
    if (r == 0) return Got::eof;
    buf.append(chunk, static_cast<size_t>(r));
    return Got::data;
  }
}

Exchange failed(int status, std::string reason) {
  Exchange e;
  e.status = status;
  e.reason = std::move(reason);
  return e;
}

}  // namespace

Exchange read_request(int fd, int timeout_ms) {
  const int64_t deadline = monotonic_ms() + timeout_ms;
  std::string buf;
  size_t end = std::string::npos;
  // Never more than the head's bound plus one read: the rest waits in the socket.
  while ((end = head_end(buf)) == std::string::npos) {
    if (buf.size() > max_head) return failed(431, "no end of the head within " + std::to_string(max_head) + " bytes");
    Got g = read_some(fd, buf, max_head + 4 - buf.size(), deadline);
    if (g == Got::timeout) return failed(408, "no whole head within the time allowed");
    if (g != Got::data) return failed(-1, buf.empty() ? "closed without a request" : "closed in the head");
  }
  Parsed p = parse_head(std::string_view(buf).substr(0, end));
  if (p.status != 0) return failed(p.status, p.reason);
  Exchange e;
  e.request = std::move(p.request);
  if (e.request.method == "POST" && !e.request.field("content-length")) {
    return failed(411, "POST without Content-Length");
  }
  e.body = buf.substr(end);
  const size_t length = e.request.content_length;
  while (e.body.size() < length) {
    Got g = read_some(fd, e.body, length - e.body.size(), deadline);
    if (g == Got::timeout) return failed(408, "no whole body within the time allowed");
    if (g != Got::data) return failed(-1, "closed in the body");
  }
  // Bytes past the body (a pipelined request) are not read: one request per connection.
  e.body.resize(length);
  return e;
}

}  // namespace quail::http
