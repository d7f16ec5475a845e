// The filters of one SMTP session, stage by stage (see milter.hpp): connections
// open at the first HELO, never for a client that says nothing; each filter is
// asked in control/milters order and the first refusal is the answer.
#include <algorithm>

#include "log.hpp"
#include "milter.hpp"

namespace quail::smtpd {
namespace {

MilterRefusal refusal_for(const milter::Reply& r, std::string_view stage) {
  using milter::ReplyKind;
  if (r.kind == ReplyKind::replycode) {
    std::string enh = r.enhanced.empty() ? (r.code >= 500 ? "5.7.1" : "4.7.1") : r.enhanced;
    return {r.code, enh, r.text};
  }
  if (r.kind == ReplyKind::reject) {
    return {stage == "connect" ? 554 : 550, "5.7.1", "rejected by a content filter"};
  }
  return {451, "4.7.1", "content filter asked to try again later"};  // tempfail, conn_fail, shutdown
}

}  // namespace

MilterSession::MilterSession(const milter::Config& config, MilterPeer peer)
    : config_(config), peer_(std::move(peer)) {
  for (const auto& f : config_.filters) clients_.push_back(std::make_unique<MilterClient>(f));
  accepted_msg_.assign(clients_.size(), false);
  accepted_conn_.assign(clients_.size(), false);
}

MilterSession::~MilterSession() {
  for (auto& c : clients_) c->quit();
}

void MilterSession::log(const MilterClient& c, std::string_view stage, std::string_view result, std::string_view extra) {
  if (result == "fail") {
    log_warn({{"sid", peer_.sid}, {"event", "milter"}, {"filter", c.spec().spec}, {"stage", stage},
              {"result", "fail"}, {"action", milter::default_action_name(*c.spec().fallback)},
              {"reason", c.failure()}});
  } else {
    log_info({{"sid", peer_.sid}, {"event", "milter"}, {"filter", c.spec().spec}, {"stage", stage},
              {"result", result}, {"reply", extra}});
  }
}

std::vector<MilterClient*> MilterSession::active() {
  std::vector<MilterClient*> out;
  for (size_t i = 0; i < clients_.size(); ++i) {
    if (!clients_[i]->failed() && !accepted_conn_[i] && !accepted_msg_[i]) out.push_back(clients_[i].get());
  }
  return out;
}

std::optional<MilterRefusal> MilterSession::fallback(MilterClient& c, std::string_view stage) {
  log(c, stage, "fail");
  if (*c.spec().fallback == milter::DefaultAction::accept) return std::nullopt;
  // Postfix's milter_default_action=tempfail: the session's mail waits until the filter is back.
  session_refusal_ = MilterRefusal{451, "4.7.1", "content filter unavailable, try again later"};
  return session_refusal_;
}

std::optional<MilterRefusal> MilterSession::verdict(MilterClient& c, const std::optional<milter::Reply>& r,
                                                    std::string_view stage) {
  using milter::ReplyKind;
  if (!r) return fallback(c, stage);
  size_t i = 0;
  while (clients_[i].get() != &c) ++i;
  const bool conn_stage = stage == "connect" || stage == "helo";
  switch (r->kind) {
    case ReplyKind::continue_:
    case ReplyKind::skip: return std::nullopt;
    case ReplyKind::accept:
      // At RCPT, accept is for that recipient only: the filter still sees the message.
      if (conn_stage) accepted_conn_[i] = true;
      else if (stage != "rcpt") accepted_msg_[i] = true;
      return std::nullopt;
    case ReplyKind::discard:
      if (stage == "connect" || stage == "helo") return std::nullopt;  // no message yet to drop
      discard_ = true;
      discarded_by_ = c.spec().spec;
      return std::nullopt;
    case ReplyKind::reject:
    case ReplyKind::tempfail:
    case ReplyKind::replycode:
    case ReplyKind::conn_fail:
    case ReplyKind::shutdown: {
      MilterRefusal m = refusal_for(*r, stage);
      log(c, stage, m.code >= 500 ? "reject" : "tempfail", std::to_string(m.code) + " " + m.enhanced + " " + m.text);
      return m;
    }
    default:
      c.fail("a change outside end of message");
      return fallback(c, stage);
  }
}

bool MilterSession::connect_all() {
  if (connected_) return true;
  connected_ = true;
  const std::vector<std::pair<std::string, std::string>> macros = {
      {"j", peer_.me}, {"{daemon_name}", "smtpd"}, {"v", "quail"}, {"_", "[" + peer_.ip + "]"},
      {"{client_addr}", peer_.ip}, {"{client_port}", peer_.port}};
  int port = 0;
  for (char ch : peer_.port) {
    if (ch < '0' || ch > '9' || port > 65535) break;
    port = port * 10 + (ch - '0');
  }
  for (auto& c : clients_) {
    if (!c->open()) {
      if (fallback(*c, "connect")) return false;
      continue;
    }
    if (!c->wants(milter::proto::no_connect)) continue;
    c->send(milter::encode_macros(milter::cmd::connect, macros));
    std::string pkt = milter::encode_connect("[" + peer_.ip + "]", peer_.ip, static_cast<uint16_t>(port > 65535 ? 0 : port));
    if (auto r = verdict(*c, c->ask(pkt, milter::proto::nr_connect), "connect")) {
      session_refusal_ = r;
      return false;
    }
  }
  return true;
}

std::optional<MilterRefusal> MilterSession::helo(const std::string& helo) {
  // A refusal at connect (or a filter down, with tempfail) answers MAIL, not HELO.
  if (!connect_all() || session_refusal_) return std::nullopt;
  for (auto* c : active()) {
    if (!c->wants(milter::proto::no_helo)) continue;
    if (auto r = verdict(*c, c->ask(milter::encode_strings(milter::cmd::helo, {helo}), milter::proto::nr_helo), "helo")) {
      return r;
    }
  }
  return std::nullopt;
}

std::optional<MilterRefusal> MilterSession::mail(const std::string& sender, const std::vector<std::string>& args,
                                                 const std::string& queue_ref, const std::string& auth_user) {
  abort();
  peer_.queue_ref = queue_ref;
  peer_.auth_user = auth_user;
  if (session_refusal_) return session_refusal_;
  in_message_ = true;
  std::vector<std::pair<std::string, std::string>> macros = {{"i", queue_ref}, {"{mail_addr}", sender}};
  if (!peer_.auth_user.empty()) macros.emplace_back("{auth_authen}", peer_.auth_user);
  std::string path = "<" + sender + ">";
  std::vector<std::string_view> strs = {path};
  for (const auto& a : args) strs.push_back(a);
  for (auto* c : active()) {
    if (!c->wants(milter::proto::no_mail)) continue;
    c->send(milter::encode_macros(milter::cmd::mail, macros));
    if (auto r = verdict(*c, c->ask(milter::encode_strings(milter::cmd::mail, strs), milter::proto::nr_mail), "mail")) {
      abort();
      return r;
    }
  }
  return std::nullopt;
}

std::optional<MilterRefusal> MilterSession::rcpt(const std::string& recipient, const std::vector<std::string>& args) {
  if (session_refusal_) return session_refusal_;
  std::string path = "<" + recipient + ">";
  std::vector<std::string_view> strs = {path};
  for (const auto& a : args) strs.push_back(a);
  for (auto* c : active()) {
    if (!c->wants(milter::proto::no_rcpt)) continue;
    c->send(milter::encode_macros(milter::cmd::rcpt, {{"{rcpt_addr}", recipient}}));
    if (auto r = verdict(*c, c->ask(milter::encode_strings(milter::cmd::rcpt, strs), milter::proto::nr_rcpt), "rcpt")) {
      return r;
    }
  }
  return std::nullopt;
}

void MilterSession::abort() {
  if (in_message_) {
    for (auto* c : active()) c->send(milter::encode(milter::cmd::abort));
  }
  in_message_ = false;
  discard_ = false;
  discarded_by_.clear();
  std::fill(accepted_msg_.begin(), accepted_msg_.end(), false);
}

}  // namespace quail::smtpd
