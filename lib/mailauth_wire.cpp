// smtpd <-> mailauth frames: see mailauth_wire.hpp.
#include "mailauth_wire.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.hpp"
#include "fd_passing.hpp"

namespace quail::mailauth {
namespace {

// How many bytes the frame in buf needs in all; 0 while its length is unknown,
// nullopt when its prefix is malformed.
std::optional<size_t> frame_size(std::string_view buf) {
  size_t colon = buf.find(':');
  if (colon == std::string_view::npos) {
    if (buf.size() > 7) return std::nullopt;
    for (char c : buf) {
      if (c < '0' || c > '9') return std::nullopt;
    }
    return 0;
  }
  if (colon == 0 || colon > 7 || (colon > 1 && buf[0] == '0')) return std::nullopt;
  size_t n = 0;
  for (size_t i = 0; i < colon; ++i) {
    if (buf[i] < '0' || buf[i] > '9') return std::nullopt;
    n = n * 10 + static_cast<size_t>(buf[i] - '0');
  }
  if (n > max_frame) return std::nullopt;
  return colon + 1 + n + 1;
}

}  // namespace

std::string socket_path(const std::string& root) { return root + "/run/mailauth.sock"; }

std::string encode(const std::vector<std::string>& fields) {
  std::string payload;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) payload += '\0';
    payload += fields[i];
  }
  return std::to_string(payload.size()) + ":" + payload + ",";
}

std::optional<std::vector<std::string>> decode(std::string_view frame) {
  auto need = frame_size(frame);
  if (!need || *need == 0 || *need != frame.size() || frame.back() != ',') return std::nullopt;
  std::string_view payload = frame.substr(frame.find(':') + 1);
  payload.remove_suffix(1);
  std::vector<std::string> out(1);
  for (char c : payload) {
    if (c == '\0') out.emplace_back();
    else out.back() += c;
  }
  return out;
}

Status send_frame(int sock, const std::vector<std::string>& fields, int fd) {
  std::string data = encode(fields);
  size_t done = 0;
  while (done < data.size()) {
    // The descriptor rides with the first bytes only.
    ssize_t n = send_with_fd(sock, std::string_view(data).substr(done), done == 0 ? fd : -1, MSG_NOSIGNAL);
    if (n < 0) return sys_error(ErrorKind::temporary, "write to mailauth's socket");
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<std::vector<std::string>> read_frame(int sock, int timeout_ms, int* fd_out) {
  std::string buf;
  int64_t deadline = timeout_ms < 0 ? 0 : monotonic_ms() + timeout_ms;
  for (;;) {
    auto need = frame_size(buf);
    if (!need) return Error{ErrorKind::format, "malformed frame"};
    if (*need && buf.size() >= *need) {
      if (buf.size() > *need) return Error{ErrorKind::format, "bytes after a frame"};
      auto f = decode(buf);
      if (!f) return Error{ErrorKind::format, "malformed frame"};
      return *f;
    }
    int wait = -1;
    if (timeout_ms >= 0) {
      int64_t left = deadline - monotonic_ms();
      if (left <= 0) return Error{ErrorKind::temporary, "timeout waiting for mailauth"};
      wait = static_cast<int>(left);
    }
    pollfd p{sock, POLLIN, 0};
    int r = ::poll(&p, 1, wait);
    if (r < 0 && errno != EINTR) return sys_error(ErrorKind::temporary, "wait for mailauth's socket");
    if (r <= 0) continue;
    char data[8192];
    Fd got;
    bool truncated = false;
    ssize_t n = recv_with_fd(sock, data, *need ? std::min(sizeof data, *need - buf.size()) : 1, got, truncated);
    // A peer gone with our bytes unread resets the socket: as closed, to the caller.
    if (n < 0 && errno == ECONNRESET && buf.empty()) return Error{ErrorKind::not_found, "mailauth reset its socket"};
    if (n < 0) return sys_error(ErrorKind::temporary, "read mailauth's socket");
    if (got.valid() && fd_out && *fd_out < 0) *fd_out = got.release();
    if (n == 0) {
      if (buf.empty()) return Error{ErrorKind::not_found, "mailauth closed its socket"};
      return Error{ErrorKind::format, "truncated frame"};
    }
    buf.append(data, static_cast<size_t>(n));
  }
}

}  // namespace quail::mailauth
