// One SMTP connection to a peer: a TCP socket that may switch to TLS (STARTTLS,
// OpenSSL, TLS 1.2 or later, SNI), read by lines and written whole, every wait
// bounded by a deadline. Trusts nothing the peer sends; never logs.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "fd.hpp"
#include "result.hpp"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace quail::rd {

enum class Io { ok, timeout, closed, error, too_long };
std::string_view io_name(Io io);

class Conn {
 public:
  Conn() = default;
  Conn(Conn&& o) noexcept;
  Conn& operator=(Conn&&) = delete;
  ~Conn();

  // Connects to ip (IPv4 or IPv6 text) and port within timeout_ms; the error says why.
  static Result<Conn> connect(const std::string& ip, uint16_t port, int timeout_ms);

  // The next line without CR LF, waiting until deadline (now_ms() based).
  Io read_line(std::string& line, size_t max, int64_t deadline);
  // Writes all of data before deadline.
  Io write(std::string_view data, int64_t deadline);
  // For a connection kept between messages: true when the peer has said nothing
  // since its last reply and not closed it. A 421 or an end of stream sent while
  // we were idle (a peer's idle timeout) makes it false; TLS records that carry
  // no data (TLS 1.3 session tickets) are read and do not.
  bool still_open();

  // TLS handshake on the open socket. sni is the server name sent (empty for an
  // address), check_name the name (or address, when check_ip) the certificate
  // must match for verified() to be true. The error says why it failed.
  Status start_tls(SSL_CTX* ctx, const std::string& sni, const std::string& check_name, bool check_ip,
                   int64_t deadline);
  bool tls() const { return ssl_ != nullptr; }
  // After start_tls: whether the chain reached a trusted CA and named check_name,
  // and if not, why ("certificate has expired", ...).
  bool verified() const { return verified_; }
  const std::string& verify_error() const { return verify_error_; }
  std::string tls_version() const;
  std::string tls_cipher() const;
  // errno of the last error (0 for TLS errors, see last_error()).
  const std::string& last_error() const { return last_error_; }

 private:
  explicit Conn(Fd fd) : fd_(std::move(fd)) {}
  Io wait(short events, int64_t deadline);
  Io fill(int64_t deadline);
  Fd fd_;
  SSL* ssl_ = nullptr;
  std::string in_;
  size_t in_pos_ = 0;
  bool verified_ = false;
  std::string verify_error_;
  std::string last_error_;
};

// The client contexts the connections of a run share, each made on first use:
// TLS 1.2 minimum; the one for verification also loads the system's trusted CAs
// and ca_file when it exists. Loading the CAs (Debian's bundle: some 140
// certificates) costs about 25 ms of CPU, more than the rest of a delivery, so
// opportunistic TLS, which never looks at the chain, goes without them.
class TlsContexts {
 public:
  explicit TlsContexts(std::string ca_file) : ca_file_(std::move(ca_file)) {}
  TlsContexts(const TlsContexts&) = delete;
  TlsContexts& operator=(const TlsContexts&) = delete;
  ~TlsContexts();
  // nullptr with why on failure.
  SSL_CTX* get(bool verify, std::string& why);

 private:
  std::string ca_file_;
  SSL_CTX* plain_ = nullptr;
  SSL_CTX* verify_ = nullptr;
};

}  // namespace quail::rd
