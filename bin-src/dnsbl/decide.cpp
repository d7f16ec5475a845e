// One connection's verdict: see decide.hpp.
#include "decide.hpp"

#include "control.hpp"
#include "log.hpp"
#include "lookup.hpp"

namespace quail::dnsbl {
namespace {

struct Config {
  std::vector<DnsList> allow, block;
  std::vector<std::string> servers;
  bool at_rcpt = true;
  int timeout_ms = 5000;
  std::string me;
};

Result<std::vector<DnsList>> lists(const Control& c, std::string_view name) {
  auto lines = c.lines(name);
  if (!lines) return lines.error();
  std::vector<DnsList> out;
  for (const auto& l : *lines) {
    auto d = parse_dns_list(l.value);
    if (!d) return Error{ErrorKind::config, c.dir() + "/" + std::string(name) + ":" + std::to_string(l.line) + ": " + d.error().reason};
    out.push_back(*d);
  }
  return out;
}

Result<Config> load(const std::string& root) {
  Control c(root);
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

}  // namespace

Decision decide(const std::string& root, const std::string& ip) {
  auto cfg = load(root);
  if (!cfg) {
    // Fail open here too: a bad edit of a list must not stop the mail (smtpd checks the rest).
    log_error({{"event", "config"}, {"reason", cfg.error().reason}});
    return {};
  }
  Decision d{{}, cfg->me};
  if (cfg->allow.empty() && cfg->block.empty()) return d;
  auto v = look_up(cfg->servers, ip, cfg->allow, cfg->block, cfg->timeout_ms);
  if (v.timed_out) {
    log_warn({{"event", "dnsbl"}, {"result", "timeout"}, {"ip", ip}, {"timeout_ms", cfg->timeout_ms}});
  } else if (!v.trouble.empty()) {
    log_warn({{"event", "dnsbl"}, {"result", "trouble"}, {"ip", ip}, {"reason", v.trouble}});
  }
  if (!v.allow.empty()) {
    log_info({{"event", "dnsbl"}, {"result", "allowlisted"}, {"ip", ip}, {"zone", v.allow[0].zone}});
    d.verdict = {DnsblAction::allow, v.allow[0].zone};
  } else if (!v.block.empty()) {
    std::string text = dnsbl_safe_text(v.block[0].text);
    log_info({{"event", "dnsbl"}, {"result", "listed"}, {"ip", ip}, {"zone", v.block[0].zone},
              {"at", cfg->at_rcpt ? "rcpt" : "connect"}, {"text", text}});
    d.verdict = {cfg->at_rcpt ? DnsblAction::block : DnsblAction::refuse, text};
  }
  return d;
}

}  // namespace quail::dnsbl
