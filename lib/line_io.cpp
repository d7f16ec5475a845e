// Buffered line I/O: see line_io.hpp. Writes never block past the timeout: on a
// socket they use MSG_DONTWAIT, elsewhere (pipes in tests) at most one page
// follows each POLLOUT, which a pipe always has room for.
#include "line_io.hpp"
#include "clock.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

namespace quail {

LineIo::LineIo(int in_fd, int out_fd, int timeout_ms, size_t read_size)
    : in_fd_(in_fd), out_fd_(out_fd), timeout_ms_(timeout_ms), read_size_(read_size ? read_size : 1) {}

void LineIo::consume(size_t n) {
  in_begin_ = n < in_end_ - in_begin_ ? in_begin_ + n : in_end_;
  if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
}

IoStatus LineIo::wait(short events) {
  struct pollfd p = {events == POLLIN ? in_fd_ : out_fd_, events, 0};
  for (;;) {
    int t = timeout_ms_;
    if (events == POLLIN && line_deadline_ >= 0) {
      int64_t left = line_deadline_ - monotonic_ms();
      t = left <= 0 ? 0 : int(left < t ? left : t);
    }
    int r = ::poll(&p, 1, t);
    if (r > 0) return IoStatus::ok;
    if (r == 0) return IoStatus::timeout;
    if (errno != EINTR) {
      errno_ = errno;
      return IoStatus::error;
    }
  }
}

IoStatus LineIo::fill() {
  if (auto s = flush(); s != IoStatus::ok) return s;
  if (eof_) return IoStatus::eof;
  if (auto s = wait(POLLIN); s != IoStatus::ok) return s;
  // Keep the buffer from creeping: consumed bytes are dropped before it grows.
  if (in_begin_ > 0) {
    std::memmove(in_.get(), in_.get() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  if (in_cap_ - in_end_ < read_size_) {
    // new char[] leaves the bytes uninitialised: only what read(2) fills is touched.
    size_t cap = in_cap_ * 2 > in_end_ + read_size_ ? in_cap_ * 2 : in_end_ + read_size_;
    std::unique_ptr<char[]> bigger(new char[cap]);
    if (in_end_ > 0) std::memcpy(bigger.get(), in_.get(), in_end_);
    in_ = std::move(bigger);
    in_cap_ = cap;
  }
  for (;;) {
    ssize_t n = ::read(in_fd_, in_.get() + in_end_, read_size_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      errno_ = errno;
      // A reset connection is the peer going away, not our trouble.
      if (errno_ == ECONNRESET) {
        eof_ = true;
        return IoStatus::eof;
      }
      return IoStatus::error;
    }
    in_end_ += static_cast<size_t>(n);
    if (n == 0) {
      eof_ = true;
      return IoStatus::eof;
    }
    return IoStatus::ok;
  }
}

IoStatus LineIo::read_line(std::string& line, size_t max, bool* crlf) {
  struct Deadline {
    int64_t& d;
    ~Deadline() { d = -1; }
  } deadline{line_deadline_};
  line_deadline_ = timeout_ms_ >= 0 ? monotonic_ms() + timeout_ms_ : -1;
  bool skipping = false;
  size_t scanned = 0;  // bytes of buffered() already known to hold no LF
  for (;;) {
    std::string_view buf = buffered();
    size_t lf = buf.find('\n', scanned);
    if (lf != std::string_view::npos) {
      if (skipping || lf + 1 > max) {
        consume(lf + 1);
        return IoStatus::too_long;
      }
      bool cr = lf > 0 && buf[lf - 1] == '\r';
      line.assign(buf.substr(0, cr ? lf - 1 : lf));
      if (crlf) *crlf = cr;
      consume(lf + 1);
      return IoStatus::ok;
    }
    if (buf.size() >= max) {
      // Over the limit without a line end: drop what we hold and keep reading to the LF.
      skipping = true;
      consume(buf.size());
      scanned = 0;
    } else {
      scanned = buf.size();
    }
    if (auto s = fill(); s != IoStatus::ok) return s;
  }
}

IoStatus LineIo::write_some() {
  if (out_is_socket_ != 0) {
    ssize_t n = ::send(out_fd_, out_.data(), out_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) {
      out_is_socket_ = 1;
      out_.erase(0, static_cast<size_t>(n));
      return IoStatus::ok;
    }
    if (errno == ENOTSOCK) {
      out_is_socket_ = 0;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      return IoStatus::ok;
    } else {
      errno_ = errno;
      return IoStatus::error;
    }
  }
  size_t len = out_.size() < 4096 ? out_.size() : 4096;
  ssize_t n = ::write(out_fd_, out_.data(), len);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return IoStatus::ok;
    errno_ = errno;
    return IoStatus::error;
  }
  out_.erase(0, static_cast<size_t>(n));
  return IoStatus::ok;
}

IoStatus LineIo::flush() {
  if (out_broken_ != IoStatus::ok) return out_broken_;
  while (!out_.empty()) {
    // A socket write never blocks (MSG_DONTWAIT): try it first and poll only when
    // it made no progress, which saves a poll per reply.
    size_t before = out_.size();
    IoStatus s = out_is_socket_ == 1 ? write_some() : IoStatus::ok;
    if (s == IoStatus::ok && out_.size() == before) {
      s = wait(POLLOUT);
      if (s == IoStatus::ok) s = write_some();
    }
    if (s != IoStatus::ok) {
      out_broken_ = s;
      out_.clear();
      return s;
    }
  }
  // Keep an idle session small: a large reply burst should not stay allocated.
  if (out_.capacity() > 65536) std::string().swap(out_);
  return IoStatus::ok;
}

}  // namespace quail
