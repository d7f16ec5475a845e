// The SMTP command loop and the commands before the message: see session.hpp.
// Codes: RFC 5321 4.2.2 with RFC 3463 enhanced codes on every 2xx/4xx/5xx reply
// but the greeting and HELO/EHLO (RFC 2034).
#include "session.hpp"

#include <algorithm>

#include "log.hpp"
#include "policy.hpp"
#include "storage.hpp"

namespace quail::smtpd {
namespace {

bool iequals(std::string_view a, std::string_view b) { return lowercase(a) == lowercase(b); }

std::string uppercase(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// RFC 3461 4.1: NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY.
bool valid_notify(const std::string& v) {
  if (v == "NEVER") return true;
  std::vector<std::string> seen;
  size_t start = 0;
  for (;;) {
    size_t comma = v.find(',', start);
    std::string item = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item != "SUCCESS" && item != "FAILURE" && item != "DELAY") return false;
    if (std::find(seen.begin(), seen.end(), item) != seen.end()) return false;
    seen.push_back(item);
    if (comma == std::string::npos) return true;
    start = comma + 1;
  }
}

// RFC 3461 4.2: ORCPT=addr-type ";" xtext, at most 500 characters.
bool valid_orcpt(const std::string& v) {
  size_t semi = v.find(';');
  if (v.size() > 500 || semi == 0 || semi == std::string::npos || semi + 1 == v.size()) return false;
  for (size_t i = 0; i < semi; ++i) {
    char c = v[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return valid_xtext(std::string_view(v).substr(semi + 1));
}

// Verbs a browser or proxy would send: a cross-protocol attack, not an SMTP client.
bool forbidden_verb(std::string_view line) {
  std::string w = uppercase(line.substr(0, line.find(' ')));
  return w == "GET" || w == "POST" || w == "HEAD" || w == "PUT" || w == "CONNECT";
}

}  // namespace

std::string_view end_reason_name(EndReason r) {
  switch (r) {
    case EndReason::quit: return "quit";
    case EndReason::eof: return "eof";
    case EndReason::timeout: return "timeout";
    case EndReason::errors: return "errors";
    case EndReason::io_error: return "io_error";
    case EndReason::forbidden: return "forbidden";
    case EndReason::tls: return "tls";
    case EndReason::auth: return "auth";
    case EndReason::limit: return "limit";
  }
  return "?";
}

EndReason Session::run() {
  if (auto r = abuse_.connect()) {
    reply(io_, r->code, r->enhanced, r->text);
    io_.flush();
    return *(end_ = EndReason::limit);
  }
  reply(io_, 220, "", s_.greeting + " ESMTP");
  std::string line;
  while (!end_ && guard_wait()) {
    IoStatus st = io_.read_line(line, max_command_line);
    if (st == IoStatus::too_long) {
      error(500, "5.5.2", "line too long");
      continue;
    }
    if (st != IoStatus::ok) {
      end_on(st);
      break;
    }
    auto cmd = parse_smtp_command(line);
    if (!cmd) {
      command_error(line, cmd.error());
      continue;
    }
    if (guard_command(*cmd)) dispatch(*cmd);
  }
  io_.flush();
  return *end_;
}

void Session::end_on(IoStatus st) {
  if (st == IoStatus::timeout && guard_ended()) return;
  if (st == IoStatus::timeout) {
    reply(io_, 421, "4.4.2", s_.me + " timeout, closing connection");
    end_ = EndReason::timeout;
  } else if (st == IoStatus::eof) {
    end_ = EndReason::eof;
  } else {
    end_ = EndReason::io_error;
  }
}

void Session::error(int code, std::string_view enhanced, std::string_view text) {
  if (++errors_ >= static_cast<unsigned>(s_.maxerrors)) {
    reply(io_, 421, "4.7.0", s_.me + " too many errors, closing connection");
    end_ = EndReason::errors;
    return;
  }
  reply(io_, code, enhanced, text);
}

void Session::command_error(std::string_view line, const Error& e) {
  if (e.kind == ErrorKind::not_found) {
    if (forbidden_verb(line)) {
      reply(io_, 421, "4.7.0", s_.me + " this is an SMTP server, closing connection");
      end_ = EndReason::forbidden;
      return;
    }
    return error(500, "5.5.1", "unknown command");
  }
  if (e.kind == ErrorKind::permanent || e.kind == ErrorKind::too_long) {
    bool mail = iequals(line.substr(0, 4), "MAIL");
    return error(501, mail ? "5.1.7" : "5.1.3", (mail ? "bad sender address: " : "bad recipient address: ") + e.reason);
  }
  error(501, "5.5.4", e.reason);
}

void Session::dispatch(const SmtpCommand& c) {
  switch (c.verb) {
    case SmtpVerb::helo:
    case SmtpVerb::ehlo: return on_hello(c);
    case SmtpVerb::mail: return on_mail(c);
    case SmtpVerb::rcpt: return on_rcpt(c);
    case SmtpVerb::data: return on_data();
    case SmtpVerb::bdat: return on_bdat(c);
    case SmtpVerb::rset:
      reset();
      bdat_aborted_ = false;
      return reply(io_, 250, "2.0.0", "ok");
    case SmtpVerb::noop: return reply(io_, 250, "2.0.0", "ok");
    case SmtpVerb::quit:
      reply(io_, 221, "2.0.0", s_.me + " closing connection");
      end_ = EndReason::quit;
      return;
    case SmtpVerb::vrfy: return reply(io_, 252, "2.5.2", "cannot VRFY user, but will accept message and attempt delivery");
    case SmtpVerb::expn: return reply(io_, 502, "5.5.1", "EXPN not available");
    case SmtpVerb::help: return reply(io_, 214, "2.0.0", "quail smtpd, see RFC 5321 and man smtpd");
    case SmtpVerb::starttls: return on_starttls();
    case SmtpVerb::auth: return on_auth(c);
  }
}

void Session::on_hello(const SmtpCommand& c) {
  reset();  // RFC 5321 4.1.4: EHLO/HELO also clears any transaction
  if (milter_refused_helo(c.argument)) return;
  helo_ = c.argument;
  esmtp_ = c.verb == SmtpVerb::ehlo;
  if (!esmtp_) return reply(io_, 250, "", s_.me);
  std::vector<std::string> lines = {s_.me + " hello " + helo_ + " [" + s_.remote_ip + "]"};
  features_.starttls = !features_.tls && tls_available(s_.root);
  features_.auth = !features_.authenticated && auth_offered();
  for (auto& k : ehlo_keywords(s_, features_)) lines.push_back(std::move(k));
  reply_lines(io_, 250, lines);
}

void Session::on_mail(const SmtpCommand& c) {
  if (helo_.empty()) return error(503, "5.5.1", "send EHLO or HELO first");
  if (tx_.active) return error(503, "5.5.1", "nested MAIL command");
  if (s_.submission && !features_.authenticated) return error(530, "5.7.0", "authentication required");
  if (s_.submission && !sender_owned(c.path)) {
    log_info({{"sid", s_.sid}, {"event", "mail"}, {"result", "reject"}, {"dsn", "5.7.1"},
              {"from", "<" + c.path.str() + ">"}, {"user", auth_user_}});
    return reply(io_, 553, "5.7.1", "<" + c.path.str() + "> is not yours to send as");
  }
  if (!esmtp_ && !c.params.empty()) return error(555, "5.5.4", "parameters need EHLO");
  Envelope env;
  uint64_t announced = 0;
  for (const auto& p : c.params) {
    const std::string v = uppercase(p.value);
    if (p.keyword == "SIZE") {
      auto size = parse_size_value(p.value);
      if (!size) return error(501, "5.5.4", "malformed SIZE");
      announced = *size;
      if (s_.databytes && *size > s_.databytes) {
        return reply(io_, 552, "5.3.4", "message size exceeds fixed maximum message size");
      }
    } else if (p.keyword == "BODY") {
      if (v != "7BIT" && v != "8BITMIME") return error(501, "5.5.4", "BODY must be 7BIT or 8BITMIME");
    } else if (p.keyword == "SMTPUTF8") {
      if (p.has_value) return error(501, "5.5.4", "SMTPUTF8 takes no value");
      env.smtputf8 = true;
    } else if (p.keyword == "RET") {
      if ((v != "FULL" && v != "HDRS") || !env.ret.empty()) return error(501, "5.5.4", "RET must be FULL or HDRS");
      env.ret = v;
    } else if (p.keyword == "ENVID") {
      if (p.value.size() > 100 || !valid_xtext(p.value)) return error(501, "5.5.4", "malformed ENVID");
      env.envid = p.value;
    } else if (p.keyword == "AUTH") {
      // RFC 4954 5: accepted; the AUTH stage decides whether to trust it.
    } else {
      return error(555, "5.5.4", "unsupported parameter " + p.keyword);
    }
  }
  if (c.utf8_path && !env.smtputf8) return reply(io_, 553, "5.6.7", "non-ASCII address needs SMTPUTF8");
  if (auto r = storage_refusal(s_, announced)) return reply(io_, r->code, r->enhanced, r->text);
  if (auto r = abuse_.mail(auth_user_)) return reply(io_, r->code, r->enhanced, r->text);
  if (Refusal r; mailauth_.refuse_sender(relay_allowed(), helo_, c.path.str(), r)) return reply(io_, r.code, r.enhanced, r.text);
  env.sender = c.path.str();
  env.auth = auth_user_;
  if (s_.relayclient && auth_user_.empty()) env.extra.emplace_back("origin", "relayclient");  // DKIM-signed on the way out
  if (milter_refused_mail(c, env)) return;
  tx_ = Transaction();
  tx_.active = true;
  tx_.env = std::move(env);
  bdat_aborted_ = false;
  reply(io_, 250, "2.1.0", "<" + tx_.env.sender + "> ok");
}

void Session::on_rcpt(const SmtpCommand& c) {
  if (!tx_.active) return error(503, "5.5.1", "need MAIL before RCPT");
  if (!esmtp_ && !c.params.empty()) return error(555, "5.5.4", "parameters need EHLO");
  ++tx_.rcpt_commands;
  Recipient r;
  for (const auto& p : c.params) {
    if (p.keyword == "NOTIFY") {
      r.notify = uppercase(p.value);
      if (!valid_notify(r.notify)) return error(501, "5.5.4", "malformed NOTIFY");
    } else if (p.keyword == "ORCPT") {
      if (!valid_orcpt(p.value)) return error(501, "5.5.4", "malformed ORCPT");
      r.orcpt = p.value;
    } else {
      return error(555, "5.5.4", "unsupported parameter " + p.keyword);
    }
  }
  if (c.utf8_path && !tx_.env.smtputf8) return reply(io_, 553, "5.6.7", "non-ASCII address needs SMTPUTF8");
  Address a = c.postmaster ? postmaster_address(s_) : c.path;
  RcptVerdict v;
  if (a.null()) {
    v = {550, "5.1.1", "<postmaster>: no mailbox here by that name", ""};
  } else if (tx_.env.recipients.size() >= s_.maxrcpt) {
    v = {452, "4.5.3", "too many recipients", ""};
  } else {
    v = check_recipient(s_, a, relay_allowed());
    if (v.ok()) v = abuse_.rcpt(tx_.env.sender, a, c.postmaster || lowercase(a.local()) == "postmaster", auth_user_,
                                mailauth_.spf_pass()).value_or(v);
  }
  if (abuse_.tarpit(rcpts_refused_ + !v.ok())) {
    reply(io_, 421, "4.7.0", s_.me + " too many refused recipients, closing connection");
    end_ = EndReason::limit;
    return;
  }
  if (!v.ok()) {
    ++rcpts_refused_;
    if (v.reason.empty()) {
      log_info({{"sid", s_.sid}, {"event", "rcpt"}, {"result", "reject"}, {"dsn", v.enhanced},
                {"from", "<" + tx_.env.sender + ">"}, {"to", "<" + a.str() + ">"}});
    } else {
      log_warn({{"sid", s_.sid}, {"event", "rcpt"}, {"result", "defer"}, {"dsn", v.enhanced},
                {"from", "<" + tx_.env.sender + ">"}, {"to", "<" + a.str() + ">"}, {"reason", v.reason}});
    }
    return reply(io_, v.code, v.enhanced, v.text);
  }
  if (milter_refused_rcpt(c, a)) return;
  r.address = a.str();
  auto same = [&](const Recipient& x) { return x.address == r.address; };
  // A duplicate is acknowledged but delivered once (its first DSN parameters win).
  if (std::none_of(tx_.env.recipients.begin(), tx_.env.recipients.end(), same)) tx_.env.recipients.push_back(r);
  reply(io_, 250, "2.1.5", v.text);
}

void Session::on_data() {
  if (!tx_.active) return error(503, "5.5.1", "need MAIL before DATA");
  if (tx_.env.recipients.empty()) {
    // RFC 2920 3.1: DATA after only refused RCPTs in a pipeline is not the client's error.
    if (tx_.rcpt_commands > 0) return reply(io_, 554, "5.5.1", "no valid recipients");
    return error(503, "5.5.1", "need RCPT before DATA");
  }
  receive_message(nullptr);
}

void Session::on_bdat(const SmtpCommand& c) {
  if (tx_.active && !tx_.env.recipients.empty()) return receive_message(&c);
  // The chunk follows whatever we answer: read it so it is not taken for commands.
  IoStatus st = read_chunk(c.chunk_size, [](std::string_view) {});
  if (st != IoStatus::ok) return end_on(st);
  bool straggler = bdat_aborted_;
  if (c.last) bdat_aborted_ = false;
  if (straggler) return reply(io_, 503, "5.5.1", "transaction failed, chunk discarded; send RSET");
  if (!tx_.active) return error(503, "5.5.1", "need MAIL before BDAT");
  if (tx_.rcpt_commands > 0) return reply(io_, 554, "5.5.1", "no valid recipients");
  error(503, "5.5.1", "need RCPT before BDAT");
}

}  // namespace quail::smtpd
