// The relay loop: see relay.hpp. Each pass moves what it can in all four
// directions without blocking, then polls for exactly what OpenSSL and the
// plaintext socket asked for.
#include "relay.hpp"

#include <cerrno>
#include <fcntl.h>
#include <openssl/err.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace quail::tlsd {
namespace {

constexpr size_t buffer_cap = 64 * 1024;  // per direction: a slow reader stops its writer

struct Wants {
  short net_r = 0;  // POLLIN on the network (OpenSSL wants to read)
  short net_w = 0;  // POLLOUT on the network
  short local = 0;
};

}  // namespace

const char* relay_end_name(RelayEnd e) {
  switch (e) {
    case RelayEnd::done: return "done";
    case RelayEnd::idle: return "idle";
    case RelayEnd::tls_error: return "tls_error";
    case RelayEnd::io_error: return "io_error";
  }
  return "?";
}

RelayEnd relay(SSL* ssl, int net_rfd, int net_wfd, int local, int idle_ms) {
  int fl = ::fcntl(local, F_GETFL);
  if (fl >= 0) ::fcntl(local, F_SETFL, fl | O_NONBLOCK);
  std::string to_net, to_local;  // plaintext waiting for SSL_write / for write(local)
  bool peer_done = false, local_done = false, local_shut = false;
  char buf[16384];
  for (;;) {
    bool moved = false;
    Wants w;
    if (!to_net.empty()) {
      int n = SSL_write(ssl, to_net.data(), static_cast<int>(to_net.size()));
      if (n > 0) {
        to_net.erase(0, static_cast<size_t>(n));
        moved = true;
      } else {
        int e = SSL_get_error(ssl, n);
        if (e == SSL_ERROR_WANT_READ) w.net_r = POLLIN;
        else if (e == SSL_ERROR_WANT_WRITE) w.net_w = POLLOUT;
        else return RelayEnd::tls_error;
      }
    }
    if (!peer_done && to_local.size() < buffer_cap) {
      int n = SSL_read(ssl, buf, sizeof buf);
      if (n > 0) {
        to_local.append(buf, static_cast<size_t>(n));
        moved = true;
      } else {
        int e = SSL_get_error(ssl, n);
        if (e == SSL_ERROR_WANT_READ) w.net_r = POLLIN;
        else if (e == SSL_ERROR_WANT_WRITE) w.net_w = POLLOUT;
        else if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) peer_done = true;
        else return RelayEnd::tls_error;
        moved = moved || peer_done;
      }
    }
    if (!to_local.empty()) {
      ssize_t n = ::write(local, to_local.data(), to_local.size());
      if (n > 0) {
        to_local.erase(0, static_cast<size_t>(n));
        moved = true;
      } else if (errno == EAGAIN) {
        w.local |= POLLOUT;
      } else if (errno != EINTR) {
        return RelayEnd::io_error;
      }
    }
    if (peer_done && to_local.empty() && !local_shut) {
      ::shutdown(local, SHUT_WR);  // the program sees EOF, as on a plain connection
      local_shut = true;
    }
    if (!local_done && to_net.size() < buffer_cap) {
      ssize_t n = ::read(local, buf, sizeof buf);
      if (n > 0) {
        to_net.append(buf, static_cast<size_t>(n));
        moved = true;
      } else if (n == 0) {
        local_done = true;
        moved = true;
      } else if (errno == EAGAIN) {
        w.local |= POLLIN;
      } else if (errno != EINTR) {
        return RelayEnd::io_error;
      }
    }
    if (local_done && to_net.empty()) {
      if (!peer_done) SSL_shutdown(ssl);  // close_notify, best effort: the program is gone
      return RelayEnd::done;
    }
    if (peer_done && local_shut && local_done) return RelayEnd::done;
    if (moved) continue;
    pollfd p[3];
    nfds_t n = 0;
    if (net_rfd == net_wfd && (w.net_r | w.net_w)) {
      p[n++] = {net_rfd, static_cast<short>(w.net_r | w.net_w), 0};
    } else {
      if (w.net_r) p[n++] = {net_rfd, POLLIN, 0};
      if (w.net_w) p[n++] = {net_wfd, POLLOUT, 0};
    }
    if (w.local) p[n++] = {local, w.local, 0};
    if (n == 0) return RelayEnd::done;  // nothing can move again
    int r = ::poll(p, n, idle_ms);
    if (r == 0) return RelayEnd::idle;
    if (r < 0 && errno != EINTR) return RelayEnd::io_error;
  }
}

}  // namespace quail::tlsd
