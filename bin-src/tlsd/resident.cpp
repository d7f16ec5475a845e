// tlsd -d: the resident tlsd. An exec'd tlsd spent nearly all of its CPU on
// OpenSSL's start (its name tables, the providers' algorithms, the context),
// not on the handshake, whose X25519 and ECDSA P-256 are a few percent of it
// (bench/README.md, "The resident tlsd"). This one starts OpenSSL and builds the
// context from ROOT/control/tls/ once, and forks a process per STARTTLS
// (lib/resident_server) that does the handshake with it, reports, and relays,
// as an exec'd tlsd does. Before each fork the certificate and key are looked
// at again (stat), and a changed pair is loaded then, so a replaced certificate
// counts from the next connection, as before.
#include "resident.hpp"

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <sys/stat.h>
#include <unistd.h>

#include "log.hpp"
#include "relay.hpp"
#include "resident_server.hpp"
#include "tls_server.hpp"
#include "tls_start.hpp"

namespace quail::tlsd {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_temporary = 111;
constexpr int hello_timeout_ms = 10000;
constexpr int handshake_timeout_ms = 60 * 1000;
constexpr int idle_timeout_ms = 30 * 60 * 1000;

// What a file was when it was loaded: a replacement (rename) or a rewrite
// changes one of these.
struct Stamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  timespec mtime{}, ctime{};
  bool operator==(const Stamp& o) const {
    return dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
           mtime.tv_nsec == o.mtime.tv_nsec && ctime.tv_sec == o.ctime.tv_sec && ctime.tv_nsec == o.ctime.tv_nsec;
  }
};

Stamp stamp(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return {};
  return {st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim};
}

// The context the children inherit, and the files it was made from (or
// failed to be: a pair that does not load is tried once per change, here, and
// then by each child, which reports it as an exec'd tlsd would).
struct Warm {
  std::string cert, key;
  Stamp cert_at, key_at;
  bool tried = false;
  SslCtxPtr ctx;

  void refresh() {
    Stamp c = stamp(cert), k = stamp(key);
    if (tried && c == cert_at && k == key_at) return;
    tried = true;
    cert_at = c;
    key_at = k;
    auto made = server_context(cert, key);
    ctx = made ? std::move(*made) : nullptr;
  }
};

std::string hello_ip;

// The hello: "T" and the client's address, up to a LF, with the client's
// connection and the session's stderr attached to its first bytes.
bool read_tls_hello(int conn, Fd& client, Fd& err) {
  std::string got;
  Fd fds[2];
  if (!read_hello(conn, max_tls_hello, hello_timeout_ms, got, fds)) return false;
  auto ip = parse_tls_hello(got);
  if (!ip) return false;
  hello_ip = *ip;
  client = std::move(fds[0]);
  err = std::move(fds[1]);
  return true;
}

void log_fail(std::string_view stage, const std::string& reason) {
  log_warn({{"event", "tls"}, {"result", "fail"}, {"ip", hello_ip}, {"stage", stage}, {"reason", reason}});
}

// In the child: one STARTTLS, as an exec'd tlsd's start_tls_mode, with the
// caller's connection to us as the plaintext side and the report's channel.
int serve_caller(Warm& warm, Fd conn) {
  if (!caller_is_trusted(conn.get())) return exit_temporary;
  Fd client, err;
  if (!read_tls_hello(conn.get(), client, err)) {
    log_warn({{"event", "refused"}, {"reason", "not a session's hello"}});
    return exit_temporary;
  }
  if (::dup2(err.get(), 2) < 0) return exit_temporary;
  err.reset();
  if (!warm.ctx) {
    auto made = server_context(warm.cert, warm.key);
    if (!made) {
      log_fail("handshake", made.error().reason);
      return exit_temporary;  // closing the connection unwritten tells the caller
    }
    warm.ctx = std::move(*made);
  }
  auto ssl = accept_tls(warm.ctx.get(), client.get(), client.get(), handshake_timeout_ms);
  if (!ssl) {
    log_fail("handshake", ssl.error().reason);
    return exit_temporary;
  }
  std::string line = tls_protocol(ssl->get()) + " " + tls_cipher(ssl->get()) + "\n";
  if (!write_all(conn.get(), line)) return exit_temporary;
  RelayEnd end = relay(ssl->get(), client.get(), client.get(), conn.get(), idle_timeout_ms);
  if (end == RelayEnd::done) return exit_ok;
  log_fail("relay", relay_end_name(end));
  return exit_temporary;
}

}  // namespace

int run_resident(const std::string& root, std::optional<uid_t> uid, const std::vector<gid_t>& groups) {
  Warm warm{root + "/control/tls/cert.pem", root + "/control/tls/key.pem", {}, {}, false, nullptr};
  return run_resident_server({.socket_path = tls_socket_path(root),
                              .uid = uid,
                              .groups = groups,
                              .server_name = "tlsd-forks",
                              .child_name = "tlsd",
                              // After the ids are dropped: the key is read as the sessions' user.
                              .before_fork = [&] { warm.refresh(); },
                              .child = [&](Fd conn) { return serve_caller(warm, std::move(conn)); }});
}

}  // namespace quail::tlsd
