// Rate limits, greylisting, the DNSBL verdict at RCPT and the tarpit: see abuse.hpp.
#include "abuse.hpp"

#include <cstdlib>
#include <ctime>
#include <unistd.h>

#include "control.hpp"
#include "log.hpp"

namespace quail::smtpd {
namespace {

int64_t now() { return static_cast<int64_t>(::time(nullptr)); }

bool env_set(const char* name) { return ::getenv(name) != nullptr; }

Result<AbuseConfig> load_config(const Control& ctl) {
  AbuseConfig c;
  std::pair<std::string_view, int64_t*> ints[] = {
      {"greydelay", &c.grey_delay},       {"greywindow", &c.grey_window},
      {"greyallow", &c.grey_allow},       {"ratelimitconnections", &c.conn_limit},
      {"ratelimitmessages", &c.msg_limit}, {"ratelimitrecipients", &c.rcpt_limit},
      {"ratelimitusermessages", &c.user_msg_limit}, {"ratelimituserrecipients", &c.user_rcpt_limit},
      {"tarpitcount", &c.tarpit_count},   {"tarpitdelay", &c.tarpit_delay},
      {"tarpitmax", &c.tarpit_max}};
  for (auto& [name, field] : ints) {
    auto v = ctl.integer(name);
    if (!v) return v.error();
    *field = *v;
  }
  auto g = ctl.integer("greylist");
  if (!g) return g.error();
  c.greylist = *g == 1;
  auto sp = ctl.integer("greyspfpass");
  if (!sp) return sp.error();
  c.grey_spf_pass = *sp == 1;
  return c;
}

}  // namespace

std::optional<RcptVerdict> Abuse::connect() {
  auto c = load_config(s_.control);
  if (!c) {
    log_error({{"sid", s_.sid}, {"event", "config"}, {"reason", c.error().reason}});
    return RcptVerdict{421, "4.3.0", "temporary configuration error, try again later", ""};
  }
  c_ = *c;
  trusted_ = s_.relayclient;
  grey_exempt_ = env_set("DNSWL") || env_set("NOGREYLIST");
  if (const char* r = ::getenv("RBLSMTPD")) rbl_ = r;
  if (trusted_) return std::nullopt;
  if (auto r = count(LimitKind::connections, false, s_.remote_ip, c_.conn_limit)) {
    r->code = 421;  // a connection over its limit is closed
    return r;
  }
  return std::nullopt;
}

std::optional<RcptVerdict> Abuse::mail(std::string_view user) {
  if (!user.empty()) return count(LimitKind::messages, true, user, c_.user_msg_limit);
  if (trusted_) return std::nullopt;
  return count(LimitKind::messages, false, s_.remote_ip, c_.msg_limit);
}

std::optional<RcptVerdict> Abuse::rcpt(std::string_view sender, const Address& a, bool postmaster,
                                       std::string_view user, bool spf_pass) {
  if (!rbl_.empty() && !postmaster && user.empty() && !trusted_) {
    // rblsmtpd's convention: a leading "-" makes the refusal permanent.
    bool perm = rbl_[0] == '-';
    std::string text = perm ? rbl_.substr(1) : rbl_;
    log_info({{"sid", s_.sid}, {"event", "dnsbl"}, {"result", "reject"}, {"ip", s_.remote_ip},
              {"from", "<" + std::string(sender) + ">"}, {"to", "<" + a.str() + ">"}, {"text", text}});
    return RcptVerdict{perm ? 554 : 451, perm ? "5.7.1" : "4.7.1", text, ""};
  }
  if (!user.empty()) {
    if (auto r = count(LimitKind::recipients, true, user, c_.user_rcpt_limit)) return r;
    return std::nullopt;  // authenticated: never greylisted
  }
  if (trusted_) return std::nullopt;
  if (auto r = count(LimitKind::recipients, false, s_.remote_ip, c_.rcpt_limit)) return r;
  if (c_.greylist && !grey_exempt_ && !postmaster && !(spf_pass && c_.grey_spf_pass)) return greylist(sender, a);
  return std::nullopt;
}

std::optional<RcptVerdict> Abuse::count(LimitKind k, bool user, std::string_view who, int64_t limit) {
  if (limit == 0 || who.empty()) return std::nullopt;
  StateStore* st = store();
  if (!st) return std::nullopt;
  int64_t t = now();
  // The counter outlives its window by one more, so quail limits show can report it.
  auto n = st->add(limit_key(k, user, who, t), 1, 2 * limit_window(k), t);
  if (!n) {
    store_failed(n.error());
    return std::nullopt;
  }
  if (*n <= limit) return std::nullopt;
  std::string per = k == LimitKind::connections ? "minute" : "hour";
  log_info({{"sid", s_.sid}, {"event", "ratelimit"}, {"limit", limit_kind_name(k)},
            {user ? "user" : "ip", std::string(who)}, {"count", *n}, {"max", limit}});
  return RcptVerdict{451, "4.7.0",
                     std::string(limit_kind_name(k)) + " rate limit reached for " + std::string(who) + ": " +
                         std::to_string(limit) + " per " + per + ", try again later",
                     ""};
}

std::optional<RcptVerdict> Abuse::greylist(std::string_view sender, const Address& a) {
  auto net = grey_network(s_.remote_ip);
  StateStore* st = store();
  if (!net || !st) return std::nullopt;
  int64_t t = now();
  auto allowed = st->get(grey_allow_key(*net), t);
  if (!allowed) return store_failed(allowed.error()), std::nullopt;
  if (allowed->has_value()) {
    // A passed network's value is when its allowance was last renewed; renewing
    // at most every tenth of greyallow saves a commit on nearly every session.
    // A network allowed by quail grey allow (value 1) keeps its entry as it is.
    int64_t since = **allowed;
    if (!grey_renewed_ && since > 1 && c_.grey_allow > 0 && t - since > c_.grey_allow / 10) {
      st->put(grey_allow_key(*net), t, c_.grey_allow, t);
    }
    grey_renewed_ = true;
    return std::nullopt;
  }
  std::string key = grey_triplet_key(*net, sender, a.str());
  auto first = st->get(key, t);
  if (!first) return store_failed(first.error()), std::nullopt;
  std::string_view result;
  if (!first->has_value()) {
    if (auto p = st->put(key, t, c_.grey_window, t); !p) return store_failed(p.error()), std::nullopt;
    result = "new";
  } else if (t - **first < c_.grey_delay) {
    result = "early";
  } else {
    if (c_.grey_allow > 0) st->put(grey_allow_key(*net), t, c_.grey_allow, t);
    grey_renewed_ = true;
    log_info({{"sid", s_.sid}, {"event", "greylist"}, {"result", "pass"}, {"net", *net},
              {"from", "<" + std::string(sender) + ">"}, {"to", "<" + a.str() + ">"}, {"waited", t - **first}});
    return std::nullopt;
  }
  log_info({{"sid", s_.sid}, {"event", "greylist"}, {"result", result}, {"net", *net},
            {"from", "<" + std::string(sender) + ">"}, {"to", "<" + a.str() + ">"}});
  return RcptVerdict{451, "4.7.1", "greylisted, try again in " + std::to_string(c_.grey_delay) + " seconds", ""};
}

bool Abuse::tarpit(unsigned refused) {
  if (c_.tarpit_max > 0 && refused >= c_.tarpit_max) {
    log_info({{"sid", s_.sid}, {"event", "tarpit"}, {"result", "end"}, {"ip", s_.remote_ip}, {"refused", refused}});
    return true;
  }
  if (c_.tarpit_count > 0 && refused >= c_.tarpit_count && c_.tarpit_delay > 0) {
    if (refused == c_.tarpit_count) {
      log_info({{"sid", s_.sid}, {"event", "tarpit"}, {"result", "delay"}, {"ip", s_.remote_ip}, {"refused", refused},
                {"delay", c_.tarpit_delay}});
    }
    ::sleep(static_cast<unsigned>(c_.tarpit_delay));
  }
  return false;
}

StateStore* Abuse::store() {
  if (store_) return store_.get();
  if (store_down_) return nullptr;
  auto st = open_state_store(s_.root);
  if (!st) {
    store_failed(st.error());
    return nullptr;
  }
  store_ = std::move(*st);
  return store_.get();
}

void Abuse::store_failed(const Error& e) {
  // Fail open: abuse controls must never stop mail for the store's trouble.
  log_warn({{"sid", s_.sid}, {"event", "store_error"}, {"reason", e.reason}});
  store_down_ = true;
  store_.reset();
}

}  // namespace quail::smtpd
