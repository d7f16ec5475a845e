// tlsd: the server side of TLS for one connection, in the UCSPI-TLS tradition.
// Started by smtpd at STARTTLS (the connection on fds 0/1, the plaintext socket
// on fd 3, the report on fd 4) or by tcpserver in front of a program for implicit
// TLS (tlsd prog...). `tlsd -d` is the resident tlsd that quail up starts:
// STARTTLS sessions fork their tlsd from it (resident.hpp). See man/tlsd.8. Trusts its certificate files, not the peer.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <sys/wait.h>
#include <vector>

#include "fd.hpp"
#include "log.hpp"
#include "program.hpp"
#include "process_ids.hpp"
#include "relay.hpp"
#include "resident.hpp"
#include "root.hpp"
#include "spawn.hpp"
#include "tls_server.hpp"

namespace {

constexpr int exit_ok = 0;
constexpr int exit_temporary = 111;  // no certificate, handshake failed, relay broke
constexpr int handshake_timeout_ms = 60 * 1000;
// The protocol program keeps its own timeouts; this only ends a relay nobody drives.
constexpr int idle_timeout_ms = 30 * 60 * 1000;
constexpr int plain_fd = 3;   // STARTTLS mode: the program's plaintext socket
constexpr int report_fd = 4;  // STARTTLS mode: "protocol cipher\n" once TLS is up

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

void log_fail(std::string_view what, const std::string& reason) {
  quail::log_warn({{"event", "tls"}, {"result", "fail"}, {"ip", env("TCPREMOTEIP")}, {"stage", what}, {"reason", reason}});
}

// The handshake on fds 0/1 with ROOT/control/tls/, read now: a replaced
// certificate is used from the next connection on.
quail::Result<quail::tlsd::SslPtr> handshake(quail::tlsd::SslCtxPtr& ctx) {
  std::string dir = quail::resolve_root(nullptr) + "/control/tls/";
  auto c = quail::tlsd::server_context(dir + "cert.pem", dir + "key.pem");
  if (!c) return c.error();
  ctx = std::move(*c);
  return quail::tlsd::accept_tls(ctx.get(), 0, 1, handshake_timeout_ms);
}

int finish(quail::tlsd::RelayEnd end) {
  if (end == quail::tlsd::RelayEnd::done) return exit_ok;
  log_fail("relay", quail::tlsd::relay_end_name(end));
  return exit_temporary;
}

// STARTTLS: the caller already answered "ready"; it reads our report on fd 4
// and then talks plaintext on its end of fd 3.
int start_tls_mode() {
  quail::Fd plain(plain_fd), report(report_fd);
  quail::tlsd::SslCtxPtr ctx;
  auto ssl = handshake(ctx);
  if (!ssl) {
    log_fail("handshake", ssl.error().reason);
    return exit_temporary;  // closing fd 4 unwritten tells the caller
  }
  std::string line = quail::tlsd::tls_protocol(ssl->get()) + " " + quail::tlsd::tls_cipher(ssl->get()) + "\n";
  if (!quail::write_all(report.get(), line)) return exit_temporary;
  report.reset();
  return finish(quail::tlsd::relay(ssl->get(), 0, 1, plain.get(), idle_timeout_ms));
}

// Implicit TLS: the handshake first, then the program on a socketpair with
// SSL_PROTOCOL and SSL_CIPHER set (ucspi-ssl's names), relayed until it ends.
int program_mode(char** argv) {
  quail::tlsd::SslCtxPtr ctx;
  auto ssl = handshake(ctx);
  if (!ssl) {
    log_fail("handshake", ssl.error().reason);
    return exit_temporary;
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    log_fail("relay", "unable to create a socketpair");
    return exit_temporary;
  }
  quail::Fd ours(sv[0]), theirs(sv[1]);
  ::setenv("SSL_PROTOCOL", quail::tlsd::tls_protocol(ssl->get()).c_str(), 1);
  ::setenv("SSL_CIPHER", quail::tlsd::tls_cipher(ssl->get()).c_str(), 1);
  std::vector<std::string> args;
  for (char** a = argv; *a; ++a) args.emplace_back(*a);
  auto pid = quail::spawn(args, {.fd_map = {{0, theirs.get()}, {1, theirs.get()}}});
  if (!pid) {
    log_fail("spawn", pid.error().reason);
    return exit_temporary;
  }
  theirs.reset();
  int code = finish(quail::tlsd::relay(ssl->get(), 0, 1, ours.get(), idle_timeout_ms));
  ours.reset();  // a program still reading sees EOF
  (void)quail::wait_for(*pid);
  return code;
}

int resident_mode(int argc, char** argv) {
  std::optional<uid_t> uid;
  std::vector<gid_t> groups;
  if (!quail::parse_id_flags(argc, argv, 2, uid, groups)) {
    std::fprintf(stderr, "usage: tlsd | tlsd program [arg ...] | tlsd -d [-u uid] [-g gid[,gid...]]\n");
    return 100;
  }
  return quail::tlsd::run_resident(quail::resolve_root(nullptr), uid, groups);
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("tlsd", {exit_temporary, exit_temporary}, [&] {
    if (argc > 1 && std::string_view(argv[1]) == "-d") return resident_mode(argc, argv);
    return argc > 1 ? program_mode(argv + 1) : start_tls_mode();
  });
}
