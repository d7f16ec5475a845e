// smtpd: one SMTP session on fd 0/1, started by tcpserver (UCSPI environment)
// or inetd; each accepted message goes to queue-inject. See man/smtpd.8.
// Trusts the administrator's control files, nothing the client sends.
#include "dnsbl.hpp"
#include "fork_server.hpp"
#include "inject_local.hpp"
#include "line_io.hpp"
#include "log.hpp"
#include "program.hpp"
#include "replies.hpp"
#include "root.hpp"
#include "session.hpp"
#include "settings.hpp"
#include "tls_start.hpp"
#include "modes.hpp"  // queue-inject's

namespace {

constexpr int exit_ok = 0;
constexpr int exit_temporary = 111;  // configuration unreadable, out of memory, internal error
constexpr int config_reply_timeout_ms = 30000;

bool has_arg(int argc, char** argv, std::string_view word) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i] == word) return true;
  }
  return false;
}

// "submission": the submission service (587, or 465). "tls": implicit TLS (465,
// RFC 8314): TLS from the first byte, started here through tlsd before the
// greeting, as at STARTTLS (the resident tlsd's or our own). "dnsbl": the DNS
// lists' verdict on the client first, from the resident dnsbl.
int serve(int argc, char** argv) {
  using namespace quail::smtpd;
  bool submission = has_arg(argc, argv, "submission");
  // Before the settings, which read the verdict from the environment (DNSWL, RBLSMTPD).
  if (has_arg(argc, argv, "dnsbl") && dnsbl_refused(quail::resolve_root(nullptr), argc, argv)) return exit_ok;
  // Under inetd fd 2 may be the client's socket: lib/log sends the lines to syslog then.
  auto settings = load_settings(quail::resolve_root(nullptr), submission);
  if (!settings) {
    quail::log_error({{"event", "config"}, {"reason", settings.error().reason}});
    quail::LineIo io(0, 1, config_reply_timeout_ms);
    reply(io, 421, "4.3.0", "temporary configuration error, try again later");
    io.flush();
    return exit_temporary;
  }
  const Settings& s = *settings;
  quail::log_info({{"sid", s.sid}, {"event", "connect"}, {"ip", s.remote_ip}, {"port", s.remote_port},
                   {"local", s.local_ip}, {"relay", s.relayclient ? 1 : 0},
                   {"service", s.submission ? "submission" : "smtp"}});
  if (has_arg(argc, argv, "tls") && !s.implicit_tls) {
    auto info = quail::start_tls(s.root, s.timeout_ms);
    if (!info) {
      // The handshake took the client's bytes (or there was none): no reply can reach it.
      quail::log_warn({{"sid", s.sid}, {"event", "tls"}, {"result", "fail"}, {"reason", info.error().reason}});
      return exit_temporary;
    }
    settings->implicit_tls = *info;
  }
  if (s.implicit_tls) {
    quail::log_info({{"sid", s.sid}, {"event", "tls"}, {"protocol", s.implicit_tls->protocol},
                     {"cipher", s.implicit_tls->cipher}});
  }

  quail::LineIo io(0, 1, s.timeout_ms);
  Session session(s, io);
  EndReason why = session.run();

  quail::log_info({{"sid", s.sid}, {"event", "end"}, {"reason", end_reason_name(why)},
                   {"accepted", session.accepted()}, {"rejected", session.rejected()},
                   {"rcpts_refused", session.rcpts_refused()}, {"errors", session.errors()}});
  session.finish();
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  // Under tcpserver -F this process is the fork server, and what follows runs
  // in each session's fork of it (lib/fork_server.hpp).
  quail::fork_server::serve_if_asked("smtpd");
  quail::set_local_injector(&quail::queue_inject::local_injector);
  return quail::run_main("smtpd", {exit_temporary, exit_temporary}, [&] { return serve(argc, argv); });
}
