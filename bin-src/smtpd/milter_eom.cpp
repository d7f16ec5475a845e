// The end of one message through the filters (see milter.hpp): DATA, each
// header, EOH, the body in chunks of at most 64 KiB with CRLF line ends, then
// end-of-message, whose answer may carry changes before the final verdict.
#include <algorithm>
#include <unistd.h>

#include "milter.hpp"
#include "milter_message.hpp"

namespace quail::smtpd {
namespace {

// What one filter may change in one message, so a runaway filter cannot take
// smtpd's memory: the changes are held until the message is handed on.
constexpr size_t max_changes = 10000;
constexpr size_t max_change_bytes = size_t{64} << 20;

// LF line ends to the CRLF a filter expects (canonical form, as on the wire).
std::string to_crlf(std::string_view in) {
  std::string out;
  out.reserve(in.size() + in.size() / 32);
  for (char c : in) {
    if (c == '\n') out.push_back('\r');
    out.push_back(c);
  }
  return out;
}

// Which action a change needs (negotiated at OPTNEG); 0 for none.
uint32_t action_of(milter::ReplyKind k) {
  using milter::ReplyKind;
  switch (k) {
    case ReplyKind::add_header: return milter::act::add_headers;
    case ReplyKind::insert_header: return milter::act::add_headers;
    case ReplyKind::change_header: return milter::act::change_headers;
    case ReplyKind::replace_body: return milter::act::change_body;
    case ReplyKind::add_rcpt: return milter::act::add_rcpt | milter::act::add_rcpt_par;
    case ReplyKind::delete_rcpt: return milter::act::delete_rcpt;
    case ReplyKind::change_from: return milter::act::change_from;
    case ReplyKind::quarantine: return milter::act::quarantine;
    default: return 0;
  }
}

}  // namespace

MilterSession::Verdict MilterSession::end_of_message(int spool_fd) {
  Verdict v;
  auto finish = [&](std::optional<MilterRefusal> r) {
    v.refusal = std::move(r);
    abort();
    return v;
  };
  if (session_refusal_) return finish(session_refusal_);
  SpooledMessage msg;
  if (!msg.parse(spool_fd)) return finish(MilterRefusal{451, "4.3.0", "unable to read the spooled message"});
  auto stage = [&](std::string_view name, uint32_t no_flag, uint32_t nr_flag, const std::string& pkt,
                   const std::vector<MilterClient*>& to) -> std::optional<MilterRefusal> {
    for (auto* c : to) {
      if (c->failed() || !c->wants(no_flag)) continue;
      if (auto r = verdict(*c, c->ask(pkt, nr_flag), name)) return r;
    }
    return std::nullopt;
  };
  if (discard_) {
    v.discard = true;
    v.discarded_by = discarded_by_;
    return finish(std::nullopt);
  }
  auto filters = active();
  if (auto r = stage("data", milter::proto::no_data, milter::proto::nr_data, milter::encode(milter::cmd::data), filters)) {
    return finish(r);
  }
  for (const auto& h : msg.headers()) {
    for (auto* c : active()) {
      bool lead = !c->wants(milter::proto::header_leadspace);
      std::string pkt = milter::encode_strings(milter::cmd::header, {h.name(), h.value(lead)});
      if (auto r = stage("header", milter::proto::no_headers, milter::proto::nr_header, pkt, {c})) return finish(r);
    }
  }
  if (auto r = stage("eoh", milter::proto::no_eoh, milter::proto::nr_eoh, milter::encode(milter::cmd::eoh), active())) {
    return finish(r);
  }
  std::vector<MilterClient*> body_to = active();
  std::string piece;
  for (off_t at = msg.body_offset(); !body_to.empty();) {
    if (!msg.read_body(spool_fd, at, piece)) return finish(MilterRefusal{451, "4.3.0", "unable to read the spooled message"});
    if (piece.empty()) break;
    at += static_cast<off_t>(piece.size());
    std::string wire = to_crlf(piece);
    for (size_t off = 0; off < wire.size(); off += milter::chunk_size) {
      std::string pkt = milter::encode(milter::cmd::body, std::string_view(wire).substr(off, milter::chunk_size));
      for (size_t i = 0; i < body_to.size(); ++i) {
        MilterClient* c = body_to[i];
        if (c->failed() || !c->wants(milter::proto::no_body)) continue;
        auto reply = c->ask(pkt, milter::proto::nr_body);
        if (reply && reply->kind == milter::ReplyKind::skip) {
          body_to.erase(body_to.begin() + static_cast<long>(i--));
          continue;
        }
        if (auto r = verdict(*c, reply, "body")) return finish(r);
      }
      // A filter that failed, accepted or skipped gets no more of the body.
      auto still = active();
      std::erase_if(body_to, [&](MilterClient* c) { return std::find(still.begin(), still.end(), c) == still.end(); });
    }
  }
  for (auto* c : active()) {
    if (discard_) break;
    c->send(milter::encode_macros(milter::cmd::body_eob, {{"i", peer_.queue_ref}}));
    std::optional<milter::Reply> r = c->ask(milter::encode(milter::cmd::body_eob));
    size_t count = 0, bytes = 0;
    const size_t before = v.changes.size();
    while (r && r->modification()) {
      if (!c->allowed(action_of(r->kind))) {
        c->fail("a change it did not negotiate");
        r.reset();
        break;
      }
      bytes += r->body.size() + r->value.size();
      if (++count > max_changes || bytes > max_change_bytes) {
        c->fail("more changes than smtpd takes for one message");
        r.reset();
        break;
      }
      if (r->kind == milter::ReplyKind::quarantine) {
        v.quarantine = r->text;
        log(*c, "eom", "quarantine", r->text);
      } else {
        v.changes.emplace_back(&c->spec(), std::move(*r));
        v.leadspace.push_back(c->wants(milter::proto::header_leadspace) ? false : true);
      }
      r = c->read_reply();
    }
    if (c->failed()) {
      // A filter that failed midway: none of its changes, only its default.
      v.changes.resize(before);
      v.leadspace.resize(before);
    }
    if (auto refusal = verdict(*c, r, "eom")) return finish(refusal);
  }
  // Every filter answered this message's end: nothing to abort.
  in_message_ = false;
  if (discard_) {
    v.discard = true;
    v.discarded_by = discarded_by_;
    v.changes.clear();
  }
  abort();
  return v;
}

}  // namespace quail::smtpd
