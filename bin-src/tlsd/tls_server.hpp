// The server side of one TLS connection (OpenSSL): the context built from
// ROOT/control/tls/ (read per connection, so a new certificate needs no restart),
// the handshake with a deadline, and the negotiated protocol and cipher.
// Trusts the administrator's certificate files, nothing the peer sends.
#pragma once
#include <openssl/ssl.h>
#include <memory>
#include <string>

#include "result.hpp"

namespace quail::tlsd {

struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslFree>;

// TLS 1.2 minimum; for TLS 1.2 only ECDHE key exchange with AEAD ciphers
// (TLS 1.3's suites are all modern). No renegotiation, no compression, no tickets.
inline constexpr const char* cipher_list =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// A server context with the chain in cert_file and the key in key_file;
// config error naming the file when either cannot be used.
Result<SslCtxPtr> server_context(const std::string& cert_file, const std::string& key_file);

// The handshake on rfd/wfd (made non-blocking), bounded by timeout_ms;
// the connection or a temporary error with OpenSSL's reason.
Result<SslPtr> accept_tls(SSL_CTX* ctx, int rfd, int wfd, int timeout_ms);

// "TLSv1.3" and "TLS_AES_256_GCM_SHA384" for an established connection.
std::string tls_protocol(SSL* ssl);
std::string tls_cipher(SSL* ssl);

// OpenSSL's queued errors as one line (and the queue emptied).
std::string ssl_errors();

}  // namespace quail::tlsd
