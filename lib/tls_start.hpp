// Starting TLS on a protocol session's connection (fds 0/1) through the tlsd
// helper (man/tlsd.8): the caller never links OpenSSL. Used by smtpd at STARTTLS
// and, the same way, by pop3d at STLS. Trusts tlsd's report only as far as its
// documented format.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "result.hpp"

namespace quail {

struct TlsInfo {
  std::string protocol;  // "TLSv1.3"
  std::string cipher;    // "TLS_AES_256_GCM_SHA384"
  pid_t helper = -1;     // our tlsd (start_tls), -1 under implicit TLS
};

// The resident tlsd's socket (tlsd -d, man/tlsd.8 "Resident mode"):
// ROOT/run/tlsd.sock.
std::string tls_socket_path(const std::string& root);

// The hello a session sends the resident tlsd, "T" + the client's address +
// LF (descriptors ride with it); an address that is not one becomes "".
std::string tls_hello(std::string_view ip);
inline constexpr size_t max_tls_hello = 64;
// The address in a hello, or nullopt when hello is not exactly one (digits,
// hex letters, '.', ':' only; "" allowed).
std::optional<std::string> parse_tls_hello(std::string_view hello);

// True when ROOT/control/tls/cert.pem and ROOT/bin/tlsd (or its build-tree
// sibling) exist: STARTTLS can be offered.
bool tls_available(const std::string& root);

// Hands fds 0/1 to tlsd, waits up to timeout_ms for the handshake, and puts the
// plaintext end of a socketpair on fds 0 and 1: a process of the resident tlsd
// when its socket answers (the plaintext end is then our connection to it),
// else a tlsd of our own. The caller has already sent its
// "ready" reply and dropped any input it had read ahead. On error the
// connection is unusable (the handshake consumed its bytes): end the session.
Result<TlsInfo> start_tls(const std::string& root, int timeout_ms);

// Parses tlsd's report line "protocol cipher" (without its LF): two tokens of
// printable ASCII; format error otherwise.
Result<TlsInfo> parse_tls_report(std::string_view line);

// The session is over: closes fds 0 and 1 (tlsd sends its close_notify and
// exits) and waits up to timeout_ms for tlsd, so the connection is not left to
// an orphan and tcpserver's limits and accounting see the whole session.
void finish_tls(const TlsInfo& info, int timeout_ms);

// Implicit TLS: tlsd started this program and set SSL_PROTOCOL and SSL_CIPHER.
std::optional<TlsInfo> tls_from_environment();

}  // namespace quail
