// The authorization state (RFC 1939 4, RFC 5034): USER/PASS or AUTH PLAIN, then
// checkpassword with the login on fd 3. Input is read one byte per read(2), so
// nothing the client sent after its login is left in our buffer: the transaction
// step reads it from the socket itself (pipelined commands are never lost).
// STLS (RFC 2595) hands the connection to tlsd (lib/tls_start); a password is
// taken only under TLS or where a tcpserver rule set PLAINTEXTLOGIN.
#include <cstdlib>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <unistd.h>

#include "clock.hpp"
#include "control.hpp"
#include "credentials.hpp"
#include "fd.hpp"
#include "log.hpp"
#include "pop3_command.hpp"
#include "pop3d.hpp"
#include "root.hpp"
#include "sasl_plain.hpp"
#include "spawn.hpp"
#include "tls_start.hpp"

namespace quail::pop3d {
namespace {

struct AuthSettings {
  std::string me;
  std::string checkpassword;  // the program's path
  std::string self;           // our own path, for checkpassword to run
  int timeout_ms = 600000;
  SessionLimits limits;
};

Result<AuthSettings> load(const std::string& root) {
  Control control(root);
  AuthSettings s;
  auto me = control.line("me");
  if (!me) return me.error();
  s.me = *me;
  auto timeout = control.integer("timeoutpop3d");
  if (!timeout) return timeout.error();
  s.timeout_ms = static_cast<int>(*timeout * 1000);
  auto limits = load_limits(control, s.timeout_ms);
  if (!limits) return limits.error();
  s.limits = *limits;
  auto cp = control.list("checkpassword");
  if (!cp) return cp.error();
  if (cp->size() > 1 || (cp->size() == 1 && (*cp)[0].front() != '/')) {
    return Error{ErrorKind::config, "control/checkpassword: expected one absolute path"};
  }
  s.self = bin_dir(root) + "/pop3d";
  s.checkpassword = cp->empty() ? bin_dir(root) + "/checkpassword" : (*cp)[0];
  return s;
}

enum class Outcome { served, refused, locked, failed };

// Runs checkpassword with user and password on fd 3; served when it accepted
// the login and the transaction step has served the session (which goes on
// counting its lifetime from start).
Outcome check(const AuthSettings& s, const std::string& sid, long long start, std::string_view user,
              const Secret& password, LineIo& io) {
  auto input = encode_credentials(user, password.view());
  if (!input) return Outcome::refused;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Outcome::failed;
  Fd rd(p[0]), wr(p[1]);
  // Our replies so far reach the client before the transaction step's.
  if (io.flush() != IoStatus::ok) return Outcome::failed;
  SpawnOptions opt;
  opt.fd_map = {{3, rd.get()}};
  auto pid = spawn({s.checkpassword, s.self, "transaction", sid, std::to_string(start)}, opt);
  if (!pid) {
    log_error({{"sid", sid}, {"event", "auth"}, {"result", "error"}, {"reason", pid.error().reason}});
    return Outcome::failed;
  }
  rd.reset();
  (void)write_all(wr.get(), input->view());  // a checkpassword that exits unread gives EPIPE: its code says
  wr.reset();
  auto st = wait_for(*pid);
  if (!st) return Outcome::failed;
  if (st->ok()) return Outcome::served;
  if (!st->signaled && st->code == 1) return Outcome::refused;
  if (!st->signaled && st->code == 3) return Outcome::locked;
  log_warn({{"sid", sid}, {"event", "auth"}, {"result", "error"},
            {"reason", (st->signaled ? "checkpassword killed by signal " : "checkpassword exited ") + std::to_string(st->code)}});
  return Outcome::failed;
}

// USER and SASL PLAIN are listed only where a password would be taken, STLS only
// before TLS and with a certificate (RFC 2595 4).
void capabilities(LineIo& io, bool login_allowed, bool offer_stls) {
  ok(io, "capability list follows");
  if (login_allowed) io.write("USER\r\nSASL PLAIN\r\n");
  if (offer_stls) io.write("STLS\r\n");
  io.write("RESP-CODES\r\nAUTH-RESP-CODE\r\nTOP\r\nUIDL\r\nIMPLEMENTATION quail\r\n.\r\n");
}

// Octets already waiting on fd 0 after the STLS line: sent before our +OK, so
// plaintext nobody may take for commands inside TLS (the CVE-2011-0411 class).
// Read and dropped without waiting; returns how many.
size_t drop_pending_input() {
  size_t dropped = 0;
  char buf[4096];
  for (int i = 0; i < 256; ++i) {  // bounded: a peer cannot keep us here
    pollfd p{0, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) break;
    ssize_t r = ::read(0, buf, sizeof buf);
    if (r <= 0) break;
    dropped += static_cast<size_t>(r);
  }
  return dropped;
}

}  // namespace

int authorize(const std::string& root, const std::string& sid, bool tls_first) {
  const char* remote = std::getenv("TCPREMOTEIP");
  const std::string ip = remote ? remote : "";
  // A MAILDIR from outside must not name the maildrop: only checkpassword sets it.
  ::unsetenv("MAILDIR");
  LineIo io(0, 1, 60000, 1);
  auto settings = load(root);
  if (!settings) {
    log_error({{"sid", sid}, {"event", "config"}, {"reason", settings.error().reason}});
    err(io, "[SYS/TEMP] temporary configuration error, try again later");
    io.flush();
    return exit_temporary;
  }
  const AuthSettings& s = *settings;
  io.set_timeout(s.timeout_ms);
  const long long start = monotonic_ms();
  Guard guard(s.limits, start, sid, "a login");
  log_info({{"sid", sid}, {"event", "connect"}, {"ip", ip}});
  // Implicit TLS (pop3s): tlsd started us and said so in the environment, or
  // (tls_first) we start it now, through tlsd as at STLS, before a byte is sent.
  std::optional<TlsInfo> tls = tls_from_environment();
  if (tls_first && !tls) {
    auto info = start_tls(root, s.timeout_ms);
    if (!info) {
      // The handshake took the client's bytes (or there was none): no reply can reach it.
      log_warn({{"sid", sid}, {"event", "tls"}, {"result", "fail"}, {"reason", info.error().reason}});
      return exit_temporary;
    }
    tls = *info;
    log_info({{"sid", sid}, {"event", "tls"}, {"protocol", tls->protocol}, {"cipher", tls->cipher}});
  }
  const bool plaintext_login = std::getenv("PLAINTEXTLOGIN") != nullptr;
  auto login_allowed = [&] { return tls || plaintext_login; };
  ok(io, s.me + " POP3 server ready");

  std::string user, line, why = "eof";
  unsigned errors = 0, failures = 0;
  auto login = [&](std::string_view name, const Secret& password) -> bool {
    switch (check(s, sid, start, name, password, io)) {
      case Outcome::served:
        why = "served";
        return false;
      case Outcome::refused:
        err(io, "[AUTH] authentication failed");
        if (++failures < max_login_failures) return true;
        why = "failures";
        return false;
      case Outcome::locked:
        err(io, "[LOGIN-DELAY] too many failed logins, try again later");
        why = "locked";
        return false;
      case Outcome::failed:
        break;
    }
    err(io, "[SYS/TEMP] temporary failure, try again later");
    why = "error";
    return false;
  };
  for (bool go = true; go;) {
    IoStatus st = io.read_line(line, max_pop3_line);
    if (st == IoStatus::too_long) {
      err(io, "line too long");
      if (++errors >= max_errors) break;
      continue;
    }
    if (st != IoStatus::ok) {
      why = st == IoStatus::timeout ? "timeout" : "eof";
      break;
    }
    Pop3Command c;
    Pop3Parse p = parse_pop3_command(line, c);
    Secret wipe(std::move(line));
    line.clear();
    if (p != Pop3Parse::ok) {
      err(io, p == Pop3Parse::unknown ? "unknown command" : "syntax error");
      if (++errors >= max_errors) why = "errors", go = false;
      continue;
    }
    // CAPA, USER, STLS, a bare AUTH: none of them logs in; a client repeating
    // them only holds its place.
    bool attempt = c.verb == Pop3Verb::pass || (c.verb == Pop3Verb::auth && c.arg == "PLAIN");
    if (!guard.admit(c.verb == Pop3Verb::quit ? Step::quit : attempt ? Step::progress : Step::junk, io, why)) break;
    switch (c.verb) {
      case Pop3Verb::capa: capabilities(io, login_allowed(), !tls && tls_available(root)); break;
      case Pop3Verb::quit:
        ok(io, "bye");
        why = "quit";
        go = false;
        break;
      case Pop3Verb::user:
        if (!login_allowed()) {
          err(io, "[AUTH] plaintext login refused: use STLS first");
          if (++errors >= max_errors) why = "errors", go = false;
          break;
        }
        user = c.arg;
        ok(io, "send PASS");
        break;
      case Pop3Verb::pass: {
        Secret password(std::move(c.arg));
        if (!login_allowed()) {
          err(io, "[AUTH] plaintext login refused: use STLS first");
          if (++errors >= max_errors) why = "errors", go = false;
          break;
        }
        if (user.empty()) {
          err(io, "USER first");
          if (++errors >= max_errors) why = "errors", go = false;
          break;
        }
        go = login(user, password);
        user.clear();
        break;
      }
      case Pop3Verb::auth: {
        if (!login_allowed()) {
          err(io, "[AUTH] plaintext login refused: use STLS first");
          if (++errors >= max_errors) why = "errors", go = false;
          break;
        }
        if (c.arg.empty()) {
          ok(io, "mechanisms follow");
          io.write("PLAIN\r\n.\r\n");
          break;
        }
        if (c.arg != "PLAIN") {
          err(io, "unsupported mechanism");
          break;
        }
        std::string text = std::move(c.initial);
        if (text.empty()) {
          io.write("+ \r\n");
          if (io.read_line(text, max_pop3_line) != IoStatus::ok) {
            why = "eof";
            go = false;
            break;
          }
        }
        Secret response(std::move(text));
        if (response.view() == "*") {
          err(io, "authentication cancelled");
          break;
        }
        auto plain = decode_sasl_plain(response.view());
        if (!plain) {
          err(io, "[AUTH] malformed PLAIN response");
          if (++failures >= max_login_failures) why = "failures", go = false;
          break;
        }
        go = login(plain->user, plain->password);
        break;
      }
      case Pop3Verb::stls: {
        if (tls) {
          err(io, "TLS is already on");
          break;
        }
        if (!tls_available(root)) {
          err(io, "STLS is not available");
          break;
        }
        size_t dropped = io.buffered().size() + drop_pending_input();
        io.consume(io.buffered().size());
        ok(io, "begin TLS negotiation");
        if (io.flush() != IoStatus::ok) {
          why = "io_error";
          go = false;
          break;
        }
        auto info = start_tls(root, s.timeout_ms);
        if (!info) {
          // The handshake consumed the client's bytes: no reply can reach it.
          log_warn({{"sid", sid}, {"event", "starttls"}, {"result", "fail"}, {"reason", info.error().reason}});
          why = "tls";
          go = false;
          break;
        }
        tls = *info;
        user.clear();  // RFC 2595 4: what came before TLS is forgotten
        log_info({{"sid", sid}, {"event", "starttls"}, {"result", "ok"}, {"protocol", tls->protocol},
                  {"cipher", tls->cipher}, {"dropped", dropped}});
        break;
      }
      default:
        err(io, "not logged in");
        if (++errors >= max_errors) why = "errors", go = false;
        break;
    }
  }
  io.flush();
  if (tls) finish_tls(*tls, 10000);
  if (why != "served") log_info({{"sid", sid}, {"event", "end"}, {"reason", why}, {"errors", errors}, {"failures", failures}});
  return exit_ok;
}

}  // namespace quail::pop3d
