// Trying the route's hosts in turn, and the report: see delivery.hpp. The rules
// (man/remote-deliver.8, DELIVERY): a host that cannot be reached or fails before
// deciding anything passes the message to the next; the first host that decides
// ends the run; a host that is this instance's own listener ends the list there
// (qmail's rule: hosts after ourselves are never better), a loop when it is first.
#include <algorithm>

#include "delivery.hpp"
#include "fd.hpp"
#include "log.hpp"

namespace quail::rd {

bool Delivery::try_address(const Hop& hop, const std::string& ip) {
  Target t;
  t.host = hop.host;
  t.literal = hop.literal;
  t.ip = ip;
  t.port = hop.port;
  t.tls = find_tls_mode(tls_, q_.domain);
  t.auth = find_auth(auth_, RelayHost{hop.host, hop.literal, hop.port});
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto conn = Conn::connect(ip, hop.port, s_.timeouts.connect_ms);
    if (!conn) {
      log_info({{"msg", q_.msg}, {"event", "connect"}, {"host", hop.host}, {"ip", ip}, {"port", hop.port},
                {"result", "failed"}, {"reason", conn.error().reason}});
      last_why_ = "unable to connect to " + t.label() + " port " + std::to_string(hop.port) + ": " +
                  conn.error().reason + " (#4.4.1)";
      return false;
    }
    log_info({{"msg", q_.msg}, {"event", "connect"}, {"host", hop.host}, {"ip", ip}, {"port", hop.port}, {"result", "ok"}});
    Greeted g;
    SessionResult r = open_session(*conn, q_, t, s_, g);
    if (!r.try_next) r = send_message(*conn, g, q_, t, s_, *wire_);
    if (!r.try_next) {
      take(r, *conn, t, g);
      return true;
    }
    last_why_ = r.why;
    if (!r.retry_plain) return false;
    // Opportunistic TLS that fails is retried once in plaintext on a new
    // connection, as a client without TLS would deliver (RFC 3207 4.1).
    t.skip_tls = true;
  }
  return false;
}

void Delivery::take(const SessionResult& r, Conn& c, const Target& t, const Greeted& g) {
  for (size_t i = 0; i < out_.size(); ++i) {
    if (out_[i].letter == 0) out_[i] = r.rcpts[i];
  }
  accepted_ = r.accepted;
  if (&c == (kept_ ? &kept_->conn : nullptr)) {
    if (!r.reusable) kept_.reset();  // closes it: its state is unknown
    return;
  }
  kept_.reset();
  if (r.reusable) kept_.reset(new Kept{std::move(c), t, g});
}

bool Delivery::try_kept() {
  if (!kept_) return false;
  Kept& k = *kept_;
  // A peer may close a connection we kept idle, or say 421 first: then the
  // message goes the usual way, over a new connection, never fails for it.
  if (!k.conn.still_open()) {
    log_info({{"msg", q_.msg}, {"event", "reuse"}, {"host", k.target.host}, {"ip", k.target.ip}, {"result", "closed"}});
    kept_.reset();
    return false;
  }
  SessionResult r = send_message(k.conn, k.greeted, q_, k.target, s_, *wire_);
  if (r.try_next) {
    // Nothing was decided on it (a 421 to MAIL, a reset): start again from the route's first host.
    log_info({{"msg", q_.msg}, {"event", "reuse"}, {"host", k.target.host}, {"ip", k.target.ip}, {"result", "failed"},
              {"reason", r.why}});
    kept_.reset();
    return false;
  }
  log_info({{"msg", q_.msg}, {"event", "reuse"}, {"host", k.target.host}, {"ip", k.target.ip}, {"result", "ok"}});
  take(r, k.conn, k.target, k.greeted);
  return true;
}

void Delivery::close() {
  if (!kept_) return;
  quit_session(kept_->conn, kept_->target, std::min(s_.timeouts.command_ms, 10000));
  kept_.reset();
}

void Delivery::try_hosts() {
  bool tried = false;
  if (!own_known_) own_ = own_listeners(root_);
  own_known_ = true;
  for (const Hop& hop : plan_.hops) {
    std::vector<std::string> ips;
    if (hop.literal) {
      ips.push_back(hop.host);
    } else {
      std::string why;
      Resolver* res = dns_->get(why);
      DnsStatus st = res ? res->addresses(hop.host, ips, why) : DnsStatus::temporary;
      if (st != DnsStatus::ok) {
        last_why_ = st == DnsStatus::temporary ? "unable to look up the address of " + hop.host + ": " + why + " (#4.4.3)"
                                               : "the mail host " + hop.host + " has no address (#4.4.4)";
        continue;
      }
    }
    for (const auto& ip : ips) {
      if (is_own_listener(own_, ip, hop.port)) {
        log_warn({{"msg", q_.msg}, {"event", "loop"}, {"host", hop.host}, {"ip", ip}, {"port", hop.port}});
        std::string why = hop.host + " [" + ip + "]:" + std::to_string(hop.port) + " is this instance's own listener";
        if (!tried) {
          decide_all('h', "mail for " + q_.domain + " would loop back to this instance: " + why + " (#5.4.6)");
        } else {
          decide_all('s', last_why_ + "; the next host, " + why + ", is not tried");
        }
        return;
      }
      tried = true;
      if (try_address(hop, ip)) return;
    }
  }
  if (last_why_.empty()) last_why_ = "no mail host of " + q_.domain + " could be tried (#4.4.1)";
  decide_all('s', last_why_);
}

int Delivery::report() {
  decide_all('s', "remote-deliver reached no decision (#4.3.0)");
  bool any_r = false, any_s = false;
  size_t delivered = 0, deferred = 0, failed = 0;
  for (const auto& o : out_) {
    any_r = any_r || o.letter == 'r';
    any_s = any_s || o.letter == 's';
    (o.letter == 'r' ? delivered : o.letter == 's' ? deferred : failed) += 1;
  }
  // 'r' recipients take the final record's verdict (man/queue-send.8); others carry their own.
  std::string final_text = any_r ? "K" + accepted_
                           : any_s ? "Z" + std::string(deferred ? "some recipients were deferred (#4.0.0)" : "")
                                   : "Dno recipient was accepted (#5.0.0)";
  log_info({{"msg", q_.msg}, {"event", "report"}, {"domain", q_.domain}, {"delivered", delivered},
            {"deferred", deferred}, {"failed", failed}});
  return write_all(1, format_report(out_, final_text)) ? exit_ok : exit_temporary;
}

}  // namespace quail::rd
