// TCP and TLS transport for remote-deliver: see conn.hpp.
#include "conn.hpp"
#include "clock.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

namespace quail::rd {
namespace {

std::string ssl_error_text() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace

std::string_view io_name(Io io) {
  switch (io) {
    case Io::ok: return "ok";
    case Io::timeout: return "timed out";
    case Io::closed: return "connection closed";
    case Io::error: return "connection error";
    case Io::too_long: return "reply line too long";
  }
  return "error";
}

Conn::Conn(Conn&& o) noexcept
    : fd_(std::move(o.fd_)), ssl_(o.ssl_), in_(std::move(o.in_)), in_pos_(o.in_pos_), verified_(o.verified_),
      verify_error_(std::move(o.verify_error_)), last_error_(std::move(o.last_error_)) {
  o.ssl_ = nullptr;
}

Conn::~Conn() {
  if (ssl_) SSL_free(ssl_);
}

Result<Conn> Conn::connect(const std::string& ip, uint16_t port, int timeout_ms) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
  } else {
    return Error{ErrorKind::temporary, "not an IP address: " + ip};
  }
  Fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return sys_error(ErrorKind::temporary, "create socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
    return Error{ErrorKind::temporary, std::strerror(errno)};
  }
  pollfd p{fd.get(), POLLOUT, 0};
  int r;
  do r = ::poll(&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  if (r == 0) return Error{ErrorKind::temporary, "timed out"};
  if (r < 0) return Error{ErrorKind::temporary, std::strerror(errno)};
  int err = 0;
  socklen_t elen = sizeof err;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &elen);
  if (err != 0) return Error{ErrorKind::temporary, std::strerror(err)};
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return Conn(std::move(fd));
}

Io Conn::wait(short events, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - monotonic_ms();
    if (left <= 0) return Io::timeout;
    pollfd p{fd_.get(), events, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r > 0) return Io::ok;
    if (r == 0) return Io::timeout;
    if (errno != EINTR) {
      last_error_ = std::strerror(errno);
      return Io::error;
    }
  }
}

Io Conn::fill(int64_t deadline) {
  if (in_pos_ > 0) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  char buf[16384];
  for (;;) {
    if (ssl_) {
      ERR_clear_error();
      int n = SSL_read(ssl_, buf, sizeof buf);
      if (n > 0) {
        in_.append(buf, static_cast<size_t>(n));
        return Io::ok;
      }
      int e = SSL_get_error(ssl_, n);
      if (e == SSL_ERROR_ZERO_RETURN) return Io::closed;
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (Io w = wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline); w != Io::ok) return w;
        continue;
      }
      last_error_ = e == SSL_ERROR_SYSCALL ? (errno ? std::strerror(errno) : "connection closed") : ssl_error_text();
      return e == SSL_ERROR_SYSCALL && errno == 0 ? Io::closed : Io::error;
    }
    ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      return Io::ok;
    }
    if (n == 0) return Io::closed;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      if (Io w = wait(POLLIN, deadline); w != Io::ok) return w;
      continue;
    }
    last_error_ = std::strerror(errno);
    return errno == ECONNRESET ? Io::closed : Io::error;
  }
}

Io Conn::read_line(std::string& line, size_t max, int64_t deadline) {
  for (;;) {
    size_t nl = in_.find('\n', in_pos_);
    if (nl != std::string::npos) {
      size_t end = nl > in_pos_ && in_[nl - 1] == '\r' ? nl - 1 : nl;
      line.assign(in_, in_pos_, end - in_pos_);
      in_pos_ = nl + 1;
      return line.size() > max ? Io::too_long : Io::ok;
    }
    if (in_.size() - in_pos_ > max + 2) return Io::too_long;
    if (Io r = fill(deadline); r != Io::ok) return r;
  }
}

bool Conn::still_open() {
  if (in_pos_ < in_.size()) return false;
  pollfd p{fd_.get(), POLLIN, 0};
  if (::poll(&p, 1, 0) == 0) return true;
  // Something came: a deadline of now reads what is there and times out at once
  // when none of it is data.
  return fill(monotonic_ms()) == Io::timeout;
}

Io Conn::write(std::string_view data, int64_t deadline) {
  while (!data.empty()) {
    if (ssl_) {
      ERR_clear_error();
      int chunk = static_cast<int>(std::min<size_t>(data.size(), 1 << 20));
      int n = SSL_write(ssl_, data.data(), chunk);
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      int e = SSL_get_error(ssl_, n);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (Io w = wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline); w != Io::ok) return w;
        continue;
      }
      last_error_ = e == SSL_ERROR_SYSCALL ? (errno ? std::strerror(errno) : "connection closed") : ssl_error_text();
      return Io::error;
    }
    ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      if (Io w = wait(POLLOUT, deadline); w != Io::ok) return w;
      continue;
    }
    last_error_ = std::strerror(errno);
    return errno == EPIPE || errno == ECONNRESET ? Io::closed : Io::error;
  }
  return Io::ok;
}

Status Conn::start_tls(SSL_CTX* ctx, const std::string& sni, const std::string& check_name, bool check_ip,
                       int64_t deadline) {
  // Bytes the peer sent after its 220 would be plaintext injected into the TLS
  // session (CVE-2011-0411 and kin): refuse them.
  if (in_pos_ < in_.size()) return Error{ErrorKind::temporary, "peer sent data after its STARTTLS reply"};
  ssl_ = SSL_new(ctx);
  if (!ssl_) return Error{ErrorKind::temporary, ssl_error_text()};
  SSL_set_fd(ssl_, fd_.get());
  if (!sni.empty()) SSL_set_tlsext_host_name(ssl_, sni.c_str());
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
  if (check_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, check_name.c_str());
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set1_host(ssl_, check_name.c_str());
  }
  for (;;) {
    ERR_clear_error();
    int r = SSL_connect(ssl_);
    if (r == 1) break;
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      Io w = wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
      if (w != Io::ok) return Error{ErrorKind::temporary, "TLS handshake " + std::string(io_name(w))};
      continue;
    }
    std::string why = e == SSL_ERROR_SYSCALL ? "connection lost" : ssl_error_text();
    return Error{ErrorKind::temporary, "TLS handshake failed: " + why};
  }
  long v = SSL_get_verify_result(ssl_);
  verified_ = v == X509_V_OK && SSL_get0_peer_certificate(ssl_) != nullptr;
  verify_error_ = verified_ ? "" : SSL_get0_peer_certificate(ssl_) ? X509_verify_cert_error_string(v) : "no certificate";
  return {};
}

std::string Conn::tls_version() const { return ssl_ ? SSL_get_version(ssl_) : ""; }
std::string Conn::tls_cipher() const { return ssl_ ? SSL_get_cipher_name(ssl_) : ""; }

TlsContexts::~TlsContexts() {
  if (plain_) SSL_CTX_free(plain_);
  if (verify_) SSL_CTX_free(verify_);
}

SSL_CTX* TlsContexts::get(bool verify, std::string& why) {
  SSL_CTX*& slot = verify ? verify_ : plain_;
  if (slot) return slot;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) {
    why = ssl_error_text();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // The handshake never fails on the certificate: a domain whose policy says
  // verify checks verified() afterwards, and says why it did not verify.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  if (verify) {
    SSL_CTX_set_default_verify_paths(ctx);
    struct stat st;
    if (::stat(ca_file_.c_str(), &st) == 0 && SSL_CTX_load_verify_locations(ctx, ca_file_.c_str(), nullptr) != 1) {
      why = "unable to load " + ca_file_ + ": " + ssl_error_text();
      SSL_CTX_free(ctx);
      return nullptr;
    }
  }
  slot = ctx;
  return ctx;
}

}  // namespace quail::rd
