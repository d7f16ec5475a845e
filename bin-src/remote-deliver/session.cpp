// The SMTP client dialogue: see session.hpp.
#include "session.hpp"

#include "bounce.hpp"
#include "clock.hpp"
#include "dialog.hpp"
#include "log.hpp"
#include "mime_downgrade.hpp"
#include "signing.hpp"
#include "smtp_reply.hpp"

namespace quail::rd {
namespace {

// The message is written in pieces of this size, each within timeoutdata.
constexpr size_t data_chunk = 64 * 1024;

std::string dsn_rcpt_params(const Recipient& r) {
  std::string out;
  if (!r.notify.empty()) out += " NOTIFY=" + r.notify;
  if (!r.orcpt.empty()) out += " ORCPT=" + r.orcpt;
  return out;
}

// A reply to RCPT saying "no more recipients in this transaction" (RFC 5321 4.5.3.1.10).
bool too_many_recipients(const SmtpReply& r) {
  return r.code == 452 || r.enhanced == "4.5.3" || r.enhanced == "5.5.3";
}

}  // namespace

std::string Target::label() const { return literal ? "[" + host + "]" : host + " [" + ip + "]"; }

const std::string& WireMessage::get(bool downgrade) {
  // Stray CRs and NULs go before signing, so the signature covers the bytes sent.
  auto signed_form = [&](const std::string& raw) {
    std::string m = without_stray_cr_nul(raw);
    return signer_ ? wire_form(signer_->fields(m) + m) : wire_form(m);
  };
  if (!downgrade) {
    if (eight_.empty()) eight_ = signed_form(message_);
    return eight_;
  }
  if (seven_.empty()) seven_ = signed_form(downgrade_8bit(message_));
  return seven_;
}

void quit_session(Conn& c, const Target& t, int ms) {
  Dialog d(c, t);
  d.quit(ms);
}

SessionResult open_session(Conn& c, const Request& q, const Target& t, const Settings& s, Greeted& g) {
  const Timeouts& to = s.timeouts;
  SessionResult res;
  res.rcpts.resize(q.rcpts.size());
  Dialog d(c, t);
  SmtpReply r;
  auto next = [&](std::string why) {
    res.try_next = true;
    res.why = std::move(why);
    return res;
  };

  if (!d.read(r, to.greeting_ms)) return next(d.lost("greeting"));
  if ((r.code / 100) != 2) return next(said_temporary(t, r, "greeting", "4.4.2"));
  bool esmtp = true;
  EhloOffer offer;
  if (!d.cmd("EHLO " + s.me, r, to.command_ms)) return next(d.lost("EHLO"));
  if ((r.code / 100) == 2) {
    offer = parse_ehlo(r);
  } else {
    esmtp = false;
    if (!d.cmd("HELO " + s.me, r, to.command_ms)) return next(d.lost("HELO"));
    if ((r.code / 100) != 2) return next(said_temporary(t, r, "HELO", "4.4.2"));
  }

  bool tls_required = t.tls == TlsMode::encrypt || t.tls == TlsMode::verify;
  if (offer.starttls && t.tls != TlsMode::none && !t.skip_tls) {
    if (!d.cmd("STARTTLS", r, to.command_ms)) return next(d.lost("STARTTLS"));
    if (r.code == 220) {
      std::string why;
      SSL_CTX* ctx = s.tls->get(t.tls == TlsMode::verify, why);
      auto st = ctx ? c.start_tls(ctx, t.literal ? "" : t.host, t.host, t.literal, monotonic_ms() + to.command_ms)
                    : Status(Error{ErrorKind::temporary, why});
      if (!st) {
        log_warn({{"msg", q.msg}, {"event", "tls"}, {"host", t.host}, {"ip", t.ip}, {"result", "failed"},
                  {"reason", st.error().reason}});
        res.retry_plain = !tls_required;
        return next(t.label() + " " + st.error().reason + " (#4.7.5)");
      }
      log_info({{"msg", q.msg}, {"event", "tls"}, {"host", t.host}, {"ip", t.ip}, {"version", c.tls_version()},
                {"cipher", c.tls_cipher()}, {"verified", c.verified() ? "yes" : "no"},
                {"reason", c.verified() ? "" : c.verify_error()}});
      if (t.tls == TlsMode::verify && !c.verified()) {
        d.quit(5000);
        return next(t.label() + " has a certificate that does not verify: " + c.verify_error() + " (#4.7.5)");
      }
      if (!d.cmd("EHLO " + s.me, r, to.command_ms)) return next(d.lost("EHLO after STARTTLS"));
      if ((r.code / 100) != 2) return next(said_temporary(t, r, "EHLO after STARTTLS", "4.4.2"));
      offer = parse_ehlo(r);
    } else if (tls_required) {
      d.quit(5000);
      return next(said_temporary(t, r, "STARTTLS", "4.7.10"));
    }
  }
  if (tls_required && !c.tls()) {
    d.quit(5000);
    return next(t.label() + " does not offer STARTTLS, which control/tlspolicy requires for " + q.domain + " (#4.7.10)");
  }

  if (t.auth) {
    // A password never crosses a network in clear: TLS, or this machine's loopback.
    if (!c.tls() && !loopback(t.ip)) {
      d.quit(5000);
      return next(t.label() + " did not start TLS: our login is not sent in clear (#4.7.10)");
    }
    SmtpReply ar;  // its own: a failed read must not leave EHLO's 250 to be judged
    bool ok = false;
    if (offer.auth_plain) {
      ok = d.cmd("AUTH PLAIN " + base64(std::string(1, '\0') + t.auth->user + '\0' + t.auth->password), ar, to.command_ms);
    } else if (offer.auth_login) {
      // 334 asks for the user name, then for the password (both base64).
      ok = d.cmd("AUTH LOGIN", ar, to.command_ms);
      if (ok && ar.code == 334) ok = d.cmd(base64(t.auth->user), ar, to.command_ms);
      if (ok && ar.code == 334) ok = d.cmd(base64(t.auth->password), ar, to.command_ms);
    } else {
      d.quit(5000);
      return next(t.label() + " offers no AUTH PLAIN or LOGIN for our login (#4.7.0)");
    }
    if (!ok) return next(d.lost("AUTH"));
    // A refused login is our configuration's trouble: temporary, never a bounce.
    if (ar.code != 235) {
      d.quit(5000);
      return next(said_temporary(t, ar, "AUTH", "4.7.0"));
    }
  }

  g.esmtp = esmtp;
  g.offer = offer;
  return res;
}

SessionResult send_message(Conn& c, const Greeted& g, const Request& q, const Target& t, const Settings& s,
                           WireMessage& wire) {
  const Timeouts& to = s.timeouts;
  const bool esmtp = g.esmtp;
  const EhloOffer& offer = g.offer;
  SessionResult res;
  res.rcpts.resize(q.rcpts.size());
  Dialog d(c, t);
  auto next = [&](std::string why) {
    res.try_next = true;
    res.why = std::move(why);
    return res;
  };
  auto decide_all = [&](char letter, const std::string& why) {
    for (auto& o : res.rcpts) {
      if (o.letter == 0) o = {letter, why};
    }
    return res;
  };
  // Refusals decided before any MAIL leave the session as it was.
  res.reusable = true;
  if (q.needs_smtputf8 && !offer.smtputf8) {
    return decide_all('h', t.label() + " does not support SMTPUTF8, which this message needs for its "
                           "non-ASCII addresses or header (#5.6.7)");
  }
  bool downgrade = q.body_8bit && !(esmtp && offer.eightbitmime);
  const std::string& data = wire.get(downgrade);
  if (offer.size_limit != 0 && data.size() > offer.size_limit) {
    return decide_all('h', t.label() + " takes messages of at most " + std::to_string(offer.size_limit) +
                               " bytes; this one has " + std::to_string(data.size()) + " (#5.3.4)");
  }
  bool pipelining = esmtp && offer.pipelining;
  bool dsn = esmtp && offer.dsn;

  // Until the last transaction ends with a reply, the session is in no state for
  // another message: any return on the way leaves it unusable.
  res.reusable = false;
  std::vector<size_t> pending;
  for (size_t i = 0; i < q.rcpts.size(); ++i) pending.push_back(i);
  bool decided = false;  // a recipient's outcome was decided here: no other host is tried
  // Trouble before the message's end was sent: the next host may take it, unless
  // this one already decided something.
  auto lost_before_data = [&](std::string why) {
    if (!decided) return next(std::move(why));
    return decide_all('s', why);
  };
  while (!pending.empty()) {
    // A VERP sender (prefix-@domain-@[]) gives each recipient its own return path,
    // so its own transaction; the others wait for the next ones on this connection.
    std::string sender = verp_return_path(q.sender, q.rcpts[pending[0]].address);
    std::vector<size_t> txn, later;
    for (size_t p : pending) (verp_return_path(q.sender, q.rcpts[p].address) == sender ? txn : later).push_back(p);
    std::string mail = "MAIL FROM:<" + sender + ">";
    if (esmtp) {
      if (offer.size) mail += " SIZE=" + std::to_string(data.size());
      if (q.body_8bit && !downgrade) mail += " BODY=8BITMIME";
      if (q.needs_smtputf8) mail += " SMTPUTF8";
      if (dsn && !q.ret.empty()) mail += " RET=" + q.ret;
      if (dsn && !q.envid.empty()) mail += " ENVID=" + q.envid;
    }
    std::vector<std::string> rcpt_lines;
    for (size_t p : txn) {
      rcpt_lines.push_back("RCPT TO:<" + q.rcpts[p].address + ">" + (dsn ? dsn_rcpt_params(q.rcpts[p]) : ""));
    }
    std::vector<size_t> accepted, overflow;
    SmtpReply mail_reply, data_reply;
    size_t rejected = 0, deferred = 0;
    auto judge_rcpt = [&](size_t p, const SmtpReply& rr) {
      if ((rr.code / 100) == 2) {
        accepted.push_back(p);
      } else if (!accepted.empty() && too_many_recipients(rr)) {
        overflow.push_back(p);
      } else {
        res.rcpts[p] = {(rr.code / 100) == 5 ? 'h' : 's', said(t, rr, "RCPT")};
        ((rr.code / 100) == 5 ? rejected : deferred) += 1;
        decided = true;
      }
    };
    if (pipelining) {
      std::string batch = mail + "\r\n";
      for (const auto& l : rcpt_lines) batch += l + "\r\n";
      batch += "DATA\r\n";
      if (!d.send(batch, to.command_ms)) return lost_before_data(d.lost("MAIL"));
      if (!d.read(mail_reply, to.command_ms)) return lost_before_data(d.lost("MAIL"));
      for (size_t i = 0; i < txn.size(); ++i) {
        SmtpReply rr;
        if (!d.read(rr, to.command_ms)) return lost_before_data(d.lost("RCPT"));
        if ((mail_reply.code / 100) == 2) judge_rcpt(txn[i], rr);
      }
      if (!d.read(data_reply, to.command_ms)) return lost_before_data(d.lost("DATA"));
    } else {
      if (!d.cmd(mail, mail_reply, to.command_ms)) return lost_before_data(d.lost("MAIL"));
      if ((mail_reply.code / 100) == 2) {
        for (size_t i = 0; i < txn.size(); ++i) {
          SmtpReply rr;
          if (!d.cmd(rcpt_lines[i], rr, to.command_ms)) return lost_before_data(d.lost("RCPT"));
          judge_rcpt(txn[i], rr);
        }
        if (!accepted.empty() && !d.cmd("DATA", data_reply, to.command_ms)) return lost_before_data(d.lost("DATA"));
      }
    }
    if ((mail_reply.code / 100) != 2) {
      if (data_reply.code == 354) {
        SmtpReply ignored;
        if (!d.cmd(".", ignored, to.data_ms)) return lost_before_data(d.lost("DATA"));
      }
      if ((mail_reply.code / 100) == 4 && !decided) return next(said(t, mail_reply, "MAIL"));
      // Refused for this return path: with VERP the other paths' transactions go on.
      for (size_t p : txn) res.rcpts[p] = {(mail_reply.code / 100) == 5 ? 'h' : 's', said(t, mail_reply, "MAIL")};
      decided = true;
      pending = std::move(later);
      continue;
    }
    if (accepted.empty()) {
      if (data_reply.code == 354) {  // a pipelining server that took DATA anyway gets an empty message's end
        SmtpReply ignored;
        if (!d.cmd(".", ignored, to.data_ms)) return lost_before_data(d.lost("DATA"));
      }
    } else if (data_reply.code != 354) {
      for (size_t p : accepted) res.rcpts[p] = {(data_reply.code / 100) == 5 ? 'h' : 's', said(t, data_reply, "DATA")};
      decided = true;
    } else {
      // From here the peer may have the message: any trouble defers, never moves on.
      decided = true;
      std::string_view rest = data;
      bool sent = true;
      while (!rest.empty() && sent) {
        size_t n = std::min(rest.size(), data_chunk);
        sent = d.send(rest.substr(0, n), to.data_ms);
        rest.remove_prefix(n);
      }
      SmtpReply end;
      if (!sent || !d.read(end, to.data_ms)) {
        return decide_all('s', d.lost("after the message was sent; it may have arrived and will be sent again"));
      }
      for (size_t p : accepted) {
        if ((end.code / 100) == 2) {
          res.rcpts[p] = {'r', ""};
        } else {
          res.rcpts[p] = {(end.code / 100) == 5 ? 'h' : 's', said(t, end, "end of data")};
        }
      }
      if ((end.code / 100) == 2 && res.accepted.empty()) {
        // Agreed with queue-send (man/remote-deliver.8): "DSN " says the peer took
        // the DSN parameters, so its own notices replace our "relayed" report.
        res.accepted = std::string(dsn ? "DSN " : "") + t.label() + " accepted the message: " + quote_reply(end) +
                       " (#" + (end.enhanced.empty() ? std::string("2.0.0") : end.enhanced) + ")";
      }
      log_info({{"msg", q.msg}, {"event", "transaction"}, {"host", t.host}, {"ip", t.ip},
                {"rcpts", txn.size()}, {"accepted", (end.code / 100) == 2 ? accepted.size() : 0},
                {"rejected", rejected}, {"deferred", deferred}, {"overflow", overflow.size()},
                {"tls", c.tls() ? c.tls_version() : "no"}, {"result", quote_reply(end)}});
    }
    if (overflow.size() == txn.size()) return decide_all('s', t.label() + " accepted no recipient (#4.5.3)");
    if (accepted.empty() || data_reply.code != 354) {
      // No message's end closed this transaction: RSET before the next MAIL (of
      // this message, or of the next one a kept run sends on this connection).
      SmtpReply ignored;
      if (!d.cmd("RSET", ignored, to.command_ms)) return lost_before_data(d.lost("RSET"));
    }
    pending = std::move(overflow);
    pending.insert(pending.end(), later.begin(), later.end());
  }
  res.reusable = true;
  return decide_all('s', t.label() + " gave no result for this recipient (#4.3.0)");
}

}  // namespace quail::rd
