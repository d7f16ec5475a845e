// dnsbl: between tcpserver and smtpd, in rblsmtpd's place (man/dnsbl.8). Looks
// the client up in control/dnswl and control/dnsbl (RFC 5782), then execs the
// rest of its command line with the verdict in the environment (DNSWL, RBLSMTPD),
// or refuses the connection itself. Fails open: no answer in time, no refusal.
// Trusts TCPREMOTEIP (tcpserver's) and the administrator's control files.
#include <cstdlib>
#include <unistd.h>

#include "control.hpp"
#include "log.hpp"
#include "lookup.hpp"
#include "program.hpp"
#include "refuse.hpp"
#include "root.hpp"

namespace {

constexpr int exit_temporary = 111;  // usage, configuration unreadable, the program cannot be run

struct Config {
  std::vector<quail::DnsList> allow, block;
  std::vector<std::string> servers;
  bool at_rcpt = true;
  int timeout_ms = 5000;
  std::string me;
};

// Runs the rest of the command line in our place; only returns on failure.
int exec_next(char** prog) {
  ::execv(prog[0], prog);
  quail::log_error({{"event", "exec"}, {"reason", quail::sys_error(quail::ErrorKind::temporary, "run " + std::string(prog[0])).reason}});
  return exit_temporary;
}

quail::Result<std::vector<quail::DnsList>> lists(const quail::Control& c, std::string_view name) {
  auto lines = c.lines(name);
  if (!lines) return lines.error();
  std::vector<quail::DnsList> out;
  for (const auto& l : *lines) {
    auto d = quail::parse_dns_list(l.value);
    if (!d) return quail::Error{quail::ErrorKind::config, c.dir() + "/" + std::string(name) + ":" + std::to_string(l.line) + ": " + d.error().reason};
    out.push_back(*d);
  }
  return out;
}

quail::Result<Config> load(const std::string& root) {
  quail::Control c(root);
  Config cfg;
  auto allow = lists(c, "dnswl");
  if (!allow) return allow.error();
  auto block = lists(c, "dnsbl");
  if (!block) return block.error();
  auto servers = c.list("dnsservers");
  if (!servers) return servers.error();
  auto rcpt = c.integer("dnsblrcpt");
  if (!rcpt) return rcpt.error();
  auto timeout = c.integer("timeoutdnsbl");
  if (!timeout) return timeout.error();
  auto me = c.line("me");
  if (!me) return me.error();
  return Config{*allow, *block, *servers, *rcpt == 1, static_cast<int>(*timeout * 1000), *me};
}

int run(char** prog) {
  const char* ip = ::getenv("TCPREMOTEIP");
  // RBLSMTPD already set (a tcprules exemption with "", or a text of its own):
  // rblsmtpd's convention, smtpd acts on it. RELAYCLIENT: our own clients.
  if (!ip || ::getenv("RBLSMTPD") || ::getenv("RELAYCLIENT")) return exec_next(prog);
  auto cfg = load(quail::resolve_root(nullptr));
  if (!cfg) {
    // Fail open here too: a bad edit of a list must not stop the mail (smtpd checks the rest).
    quail::log_error({{"event", "config"}, {"reason", cfg.error().reason}});
    return exec_next(prog);
  }
  if (cfg->allow.empty() && cfg->block.empty()) return exec_next(prog);
  auto v = quail::dnsbl::look_up(cfg->servers, ip, cfg->allow, cfg->block, cfg->timeout_ms);
  if (v.timed_out) {
    quail::log_warn({{"event", "dnsbl"}, {"result", "timeout"}, {"ip", ip}, {"timeout_ms", cfg->timeout_ms}});
  } else if (!v.trouble.empty()) {
    quail::log_warn({{"event", "dnsbl"}, {"result", "trouble"}, {"ip", ip}, {"reason", v.trouble}});
  }
  if (!v.allow.empty()) {
    quail::log_info({{"event", "dnsbl"}, {"result", "allowlisted"}, {"ip", ip}, {"zone", v.allow[0].zone}});
    ::setenv("DNSWL", v.allow[0].zone.c_str(), 1);
  } else if (!v.block.empty()) {
    std::string text = quail::dnsbl::safe_text(v.block[0].text);
    quail::log_info({{"event", "dnsbl"}, {"result", "listed"}, {"ip", ip}, {"zone", v.block[0].zone},
                     {"at", cfg->at_rcpt ? "rcpt" : "connect"}, {"text", text}});
    if (!cfg->at_rcpt) {
      quail::dnsbl::refuse_session(cfg->me, text);
      return 0;
    }
    ::setenv("RBLSMTPD", ("-" + text).c_str(), 1);  // "-": permanent, as rblsmtpd reads it
  }
  return exec_next(prog);
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("dnsbl", {exit_temporary, exit_temporary}, [&] {
    if (argc < 2) {
      quail::log_error({{"event", "usage"}, {"reason", "usage: dnsbl program [arg...]"}});
      return exit_temporary;
    }
    return run(argv + 1);
  });
}
