// OpenSSL server context and handshake: see tls_server.hpp.
#include "tls_server.hpp"
#include "clock.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <openssl/err.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

namespace quail::tlsd {
namespace {

void set_nonblocking(int fd) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl >= 0) ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

}  // namespace

std::string ssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

Result<SslCtxPtr> server_context(const std::string& cert_file, const std::string& key_file) {
  // Our settings are all set here: the system's openssl.cnf is not read (it could
  // only loosen them, and from a static binary it could ask to dlopen a module).
  OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr);
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return Error{ErrorKind::temporary, "unable to create a TLS context: " + ssl_errors()};
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
  // One process per connection: a session cache or tickets could never be reused.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  if (SSL_CTX_set_cipher_list(ctx.get(), cipher_list) != 1) {
    return Error{ErrorKind::temporary, "unable to set the cipher list: " + ssl_errors()};
  }
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_file.c_str()) != 1) {
    return Error{ErrorKind::config, "unable to use " + cert_file + ": " + ssl_errors()};
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Error{ErrorKind::config, "unable to use " + key_file + ": " + ssl_errors()};
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return Error{ErrorKind::config, key_file + " does not match " + cert_file};
  }
  return ctx;
}

Result<SslPtr> accept_tls(SSL_CTX* ctx, int rfd, int wfd, int timeout_ms) {
  set_nonblocking(rfd);
  if (wfd != rfd) set_nonblocking(wfd);
  SslPtr ssl(SSL_new(ctx));
  if (!ssl || SSL_set_rfd(ssl.get(), rfd) != 1 || SSL_set_wfd(ssl.get(), wfd) != 1) {
    return Error{ErrorKind::temporary, "unable to set up TLS: " + ssl_errors()};
  }
  int64_t deadline = monotonic_ms() + timeout_ms;
  for (;;) {
    int r = SSL_accept(ssl.get());
    if (r == 1) {
      // The client's Finished is the last handshake record and, without session
      // tickets, nothing answers it: its ACK would wait for the delayed-ACK timer,
      // and a client with Nagle on holds its first command until then (~40 ms
      // per session, measured). Acknowledge it now. Not a TCP socket: no-op.
      int one = 1;
      (void)::setsockopt(rfd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
      return ssl;
    }
    int e = SSL_get_error(ssl.get(), r);
    pollfd p{};
    if (e == SSL_ERROR_WANT_READ) {
      p = {rfd, POLLIN, 0};
    } else if (e == SSL_ERROR_WANT_WRITE) {
      p = {wfd, POLLOUT, 0};
    } else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
      return Error{ErrorKind::temporary, "handshake failed: connection closed"};
    } else {
      return Error{ErrorKind::temporary, "handshake failed: " + ssl_errors()};
    }
    int64_t left = deadline - monotonic_ms();
    if (left <= 0) return Error{ErrorKind::temporary, "handshake failed: timeout"};
    if (::poll(&p, 1, static_cast<int>(left)) < 0 && errno != EINTR) {
      return Error{ErrorKind::temporary, std::string("handshake failed: poll: ") + std::strerror(errno)};
    }
  }
}

std::string tls_protocol(SSL* ssl) { return SSL_get_version(ssl); }

std::string tls_cipher(SSL* ssl) {
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl);
  return c ? SSL_CIPHER_get_name(c) : "unknown";
}

}  // namespace quail::tlsd
