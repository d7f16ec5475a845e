// SMTP AUTH (RFC 4954): PLAIN (RFC 4616) and LOGIN, offered once TLS is on or
// where a tcpserver rule set PLAINTEXTLOGIN. The password is checked by running
// ROOT/bin/checkpassword (or control/checkpassword's program) with /bin/true (the
// checkpassword interface: fd 3, exit 0
// good, 1 bad, anything else temporary), so smtpd never reads a password hash.
// Failures are delayed and counted; after max_auth_failures the session ends.
// Nothing here logs a password or AUTH data.
#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.hpp"
#include "fd.hpp"
#include "log.hpp"
#include "root.hpp"
#include "sasl.hpp"
#include "session.hpp"
#include "spawn.hpp"

namespace quail::smtpd {
namespace {

constexpr unsigned max_auth_failures = 3;
constexpr unsigned max_auth_delay_s = 5;
constexpr size_t max_auth_line = 12288;  // RFC 4954 4

enum class Verdict { ok, bad, temporary };

// control/checkpassword's program (a MySQL or LDAP checker), else ours; "" when
// the control file is malformed (AUTH then fails temporarily).
std::string checkpassword_path(const Settings& s) {
  auto named = s.control.list("checkpassword");
  if (!named) return "";
  return named->empty() ? bin_dir(s.root) + "/checkpassword" : named->front();
}

// Runs checkpassword with the login on fd 3 (written before it runs: it is far
// below a pipe's capacity, so the write cannot block).
Verdict check_password(const Settings& s, const SaslLogin& login) {
  std::string program = checkpassword_path(s);
  int p[2];
  if (program.empty() || ::pipe2(p, O_CLOEXEC) != 0) return Verdict::temporary;
  Fd r(p[0]), w(p[1]);
  SaslSecret input = checkpassword_input(login, std::to_string(std::time(nullptr)));
  if (input.str().size() > 4096 || !write_all(w.get(), input.str())) return Verdict::temporary;
  w.reset();
  auto pid = spawn({program, "/bin/true"}, {.fd_map = {{3, r.get()}}});
  if (!pid) return Verdict::temporary;
  r.reset();
  auto st = wait_for(*pid);
  if (!st) return Verdict::temporary;
  if (st->ok()) return Verdict::ok;
  // 3: checkpassword(8) refuses this name or address after too many failures.
  if (!st->signaled && (st->code == 1 || st->code == 3)) return Verdict::bad;
  return Verdict::temporary;
}

}  // namespace

bool Session::sender_owned(const Address& a) const {
  return features_.authenticated && sender_belongs(auth_user_, a, s_.local.locals, s_.sendas);
}

bool Session::auth_offered() const {
  if (!features_.tls && !s_.plaintext_login) return false;
  struct stat st;
  return ::stat(checkpassword_path(s_).c_str(), &st) == 0;
}

std::optional<std::string> Session::auth_line() {
  std::string line;
  IoStatus st = io_.read_line(line, max_auth_line);
  if (st == IoStatus::too_long) {
    error(500, "5.5.6", "authentication exchange line is too long");
    return std::nullopt;
  }
  if (st != IoStatus::ok) {
    end_on(st);
    return std::nullopt;
  }
  if (line == "*") {
    reply(io_, 501, "5.0.0", "authentication cancelled");
    return std::nullopt;
  }
  return line;
}

void Session::auth_failed(std::string_view mech, std::string_view why) {
  ++auth_failures_;
  log_info({{"sid", s_.sid}, {"event", "auth"}, {"result", "fail"}, {"mech", mech}, {"ip", s_.remote_ip},
            {"failures", auth_failures_}, {"reason", why}});
  // Guessing is slowed: each failure waits longer before its answer.
  io_.flush();
  ::sleep(auth_failures_ < max_auth_delay_s ? auth_failures_ : max_auth_delay_s);
  if (auth_failures_ >= max_auth_failures) {
    reply(io_, 421, "4.7.0", s_.me + " too many failed logins, closing connection");
    end_ = EndReason::auth;
    return;
  }
  reply(io_, 535, "5.7.8", "authentication credentials invalid");
}

void Session::on_auth(const SmtpCommand& c) {
  if (!esmtp_) return error(503, "5.5.1", "send EHLO first");
  if (features_.authenticated) return error(503, "5.5.1", "already authenticated");
  if (tx_.active) return error(503, "5.5.1", "AUTH not allowed during a mail transaction");
  if (!features_.tls && !s_.plaintext_login) {
    return reply(io_, 538, "5.7.11", "encryption required: STARTTLS first");
  }
  if (!auth_offered()) return reply(io_, 454, "4.7.0", "authentication not available");
  std::string_view arg = c.argument;
  size_t sp = arg.find(' ');
  std::string mech = lowercase(arg.substr(0, sp));
  std::optional<std::string> initial;
  if (sp != std::string_view::npos) initial = std::string(arg.substr(sp + 1));
  if (mech != "plain" && mech != "login") return error(504, "5.5.4", "mechanism not supported");

  Result<SaslLogin> login = Error{ErrorKind::format, ""};
  if (mech == "plain") {
    if (!initial) {
      reply(io_, 334, "", "");
      if (!(initial = auth_line())) return;
    }
    // "=" is an empty initial response (RFC 4954 4).
    auto decoded = base64_decode(*initial == "=" ? "" : *initial);
    if (!decoded) return error(501, "5.5.2", "cannot decode the response");
    login = parse_sasl_plain(*decoded);
  } else {
    std::optional<SaslSecret> user;
    if (initial) {
      user = base64_decode(*initial);
    } else {
      reply(io_, 334, "", base64_encode("Username:"));
      auto line = auth_line();
      if (!line) return;
      user = base64_decode(*line);
    }
    if (!user) return error(501, "5.5.2", "cannot decode the response");
    reply(io_, 334, "", base64_encode("Password:"));
    auto line = auth_line();
    if (!line) return;
    auto pass = base64_decode(*line);
    if (!pass) return error(501, "5.5.2", "cannot decode the response");
    if (valid_login_field(user->str()) && valid_login_field(pass->str())) {
      login = SaslLogin{user->str(), std::move(*pass)};
    }
  }
  if (!login) return auth_failed(mech, "malformed credentials");
  Verdict v = check_password(s_, *login);
  if (v == Verdict::temporary) {
    log_warn({{"sid", s_.sid}, {"event", "auth"}, {"result", "defer"}, {"mech", mech}, {"ip", s_.remote_ip}});
    return reply(io_, 454, "4.7.0", "temporary authentication failure, try again later");
  }
  if (v == Verdict::bad) return auth_failed(mech, "bad credentials");
  auth_user_ = login->user;
  features_.authenticated = true;
  log_info({{"sid", s_.sid}, {"event", "auth"}, {"result", "ok"}, {"mech", mech}, {"user", auth_user_}});
  reply(io_, 235, "2.7.0", "authentication successful");
}

}  // namespace quail::smtpd
