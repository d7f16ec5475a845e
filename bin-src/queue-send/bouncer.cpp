// Delivery status notices: see bouncer.hpp. The original is streamed from
// mess/<id> into queue-inject's pipe, never held in memory. Log lines:
// event=bounce, event=report, event=dropped.
#include "bouncer.hpp"

#include <map>
#include <unistd.h>

#include "bounce.hpp"
#include "dsn_report.hpp"
#include "inject_client.hpp"
#include "log.hpp"
#include "queue_exit.hpp"
#include "queue_stat.hpp"

namespace quail {
namespace {

constexpr int64_t ns_per_s = 1000000000;

bool non_ascii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

// Copies the original (or its header section) from fd at byte 56 into out.
// When out is -1 it only scans: which 8-bit bytes it holds (the notice's MIME types
// depend on them, RFC 6533). False on a read or write error.
struct Scan {
  bool eight_bit = false;          // in what is copied
  bool eight_bit_headers = false;  // in the header section
};
bool copy_original(int fd, uint64_t length, bool headers_only, int out, Scan* scan = nullptr) {
  char buf[65536];
  uint64_t off = 0;
  char prev = '\0';
  bool in_headers = true;
  while (off < length) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof buf, length - off));
    ssize_t n = ::pread(fd, buf, want, static_cast<off_t>(queue_header_size + off));
    if (n <= 0) return false;
    size_t take = static_cast<size_t>(n);
    for (size_t i = 0; i < take && (scan || headers_only); ++i) {
      if (scan && static_cast<unsigned char>(buf[i]) >= 0x80) {
        scan->eight_bit = true;
        scan->eight_bit_headers |= in_headers;
      }
      // The blank line that ends the header section (or a message that starts with one).
      if (in_headers && buf[i] == '\n' && (prev == '\n' || off + i == 0)) {
        in_headers = false;
        if (headers_only) {
          return out < 0 || write_all(out, std::string_view(buf, i + 1));
        }
      }
      prev = buf[i];
    }
    if (out >= 0 && !write_all(out, std::string_view(buf, take))) return false;
    off += take;
  }
  return true;
}

enum class Injected { ok, deferred, refused, too_big };

struct NoticeJob {
  const Settings& s;
  const Message& m;
  const QueueFile& qf;
  std::string id;
  int64_t now_ns;
};

// Builds one notice for `rcpts` (all of one kind) and hands it to queue-inject along
// `route`; `force_headers` returns only the original's headers whatever RET asked.
Injected inject_notice(const NoticeJob& job, const BounceRoute& route, const std::vector<DsnRecipient>& rcpts,
                       bool force_headers, std::string& reason) {
  const Settings& s = job.s;
  const Envelope& env = job.qf.envelope;
  const int64_t now = job.now_ns;
  const DsnAction kind = rcpts.front().action;
  DsnSpec spec;
  spec.me = s.me;
  spec.from = s.bouncefrom + "@" + s.me;
  spec.to = route.recipient;
  spec.envid = env.envid;
  spec.boundary = "quail-" + job.id + "-" + std::to_string(now) + "/" + s.me;
  spec.message_id = "quail-" + std::string(kind == DsnAction::failed ? "bounce" : "report") + "-" + job.id + "-" +
                    std::to_string(now) + "@" + s.me;
  spec.arrival = job.m.birth_ns / ns_per_s;
  spec.now = now / ns_per_s;
  if (kind == DsnAction::delayed) spec.retry_until = spec.arrival + s.lifetime_s;
  // RET concerns failures (RFC 3461 4.3); delay and success reports carry the headers.
  spec.content = kind == DsnAction::failed && env.ret != "HDRS" && !force_headers ? DsnContent::full
                                                                                   : DsnContent::headers;
  spec.double_bounce = route.kind == BounceKind::double_bounce;
  spec.recipients = rcpts;
  const bool headers_only = spec.content == DsnContent::headers;
  int fd = job.qf.fd.get();
  uint64_t length = job.m.length;
  Scan scan;
  if (!copy_original(fd, length, headers_only, -1, &scan)) {
    reason = "unable to read the queue file of message " + job.id;
    return Injected::deferred;
  }
  spec.eight_bit = scan.eight_bit;
  spec.utf8_original = env.smtputf8 || scan.eight_bit_headers;
  DsnText text = build_dsn(spec);

  Envelope nenv;
  nenv.sender = route.envelope_sender;
  nenv.recipients.push_back({route.recipient, "", ""});
  nenv.smtputf8 = env.smtputf8 || non_ascii(route.recipient) || non_ascii(text.head);
  int code = -1;
  auto outcome = inject_message(
      s.root,
      [&](int out) { return write_all(out, text.head) && copy_original(fd, length, headers_only, out) && write_all(out, text.tail); },
      nenv, &code, {"QUAIL_NOTICE=1"});  // notices keep a reserve below control/queuefree
  if (outcome && code == 0) {
    if (kind == DsnAction::failed) {
      log_info({{"msg", job.id}, {"event", "bounce"}, {"to", "<" + route.recipient + ">"},
                {"kind", spec.double_bounce ? "double" : "single"}, {"rcpts", rcpts.size()}});
    } else {
      log_info({{"msg", job.id}, {"event", "report"}, {"to", "<" + route.recipient + ">"},
                {"kind", kind == DsnAction::delayed ? "delayed" : "success"}, {"rcpts", rcpts.size()}});
    }
    return Injected::ok;
  }
  reason = outcome ? outcome->text : outcome.error().reason;
  if (outcome && code == qq::refused && !headers_only) return Injected::too_big;  // over control/databytes
  return outcome && outcome->permanent ? Injected::refused : Injected::deferred;
}

// Failure notices, grouped by VERP return path; false when one was deferred.
bool send_failures(const NoticeJob& job, const std::map<std::string, std::vector<DsnRecipient>>& groups,
                   std::string& reason) {
  const Settings& s = job.s;
  // XXX: when one of several VERP notices is deferred, those already queued are
  // queued again at the next try (a duplicate notice, never a lost one).
  for (const auto& [return_path, failed] : groups) {
    BounceRoute route = bounce_route(return_path, s.me, s.doublebounceto);
    bool headers_only = false;
    for (;;) {
      if (route.kind == BounceKind::drop) {
        log_warn({{"msg", job.id}, {"event", "dropped"}, {"reason", "a double bounce failed; dropped so nothing loops"},
                  {"rcpts", failed.size()}});
        break;
      }
      Injected r = inject_notice(job, route, failed, headers_only, reason);
      if (r == Injected::ok) break;
      if (r == Injected::too_big) {
        // A notice with the whole message can be over control/databytes when the
        // message was near it: the headers are enough (RFC 3461 lets a DSN
        // return less than asked), and nothing is lost to a double bounce.
        headers_only = true;
        continue;
      }
      if (r == Injected::deferred) {
        log_warn({{"msg", job.id}, {"event", "bounce"}, {"result", "deferred"}, {"reason", reason}});
        return false;
      }
      // queue-inject refused the notice for good (an address it will never take):
      // the postmaster gets it as a double bounce, and a refused double bounce is dropped.
      log_warn({{"msg", job.id}, {"event", "bounce"}, {"result", "refused"}, {"to", "<" + route.recipient + ">"},
                {"reason", reason}});
      route = bounce_route(route.kind == BounceKind::bounce ? "" : std::string(double_bounce_sender), s.me,
                           s.doublebounceto);
    }
  }
  return true;
}

}  // namespace

bool delay_notice_due(const Settings& s, int64_t birth_ns, const Rcpt& r, int64_t now_ns) {
  return s.delaywarning_s > 0 && r.state == RcptState::pending && r.last_try > 0 && !r.warned &&
         (r.notify & notify_delay) && now_ns >= birth_ns + s.delaywarning_s * ns_per_s;
}

BounceOutcome send_notices(const Settings& s, const Store& store, Message& m, int64_t now_ns, std::string& records,
                           std::string& reason) {
  const std::string id = m.id_str();
  // Reports of success or delay never go to a null sender (a notice: RFC 3461 6.2)
  // nor to a double bounce's "#@[]": a notice about a notice could loop.
  const bool reports_allowed = !m.sender.empty() && m.sender != double_bounce_sender;
  std::vector<uint32_t> fails, successes, delays;
  for (uint32_t n = 0; n < m.rcpts.size(); ++n) {
    Rcpt& r = m.rcpts[n];
    if (r.state == RcptState::failed && !r.bounced) fails.push_back(n);
    if (r.state == RcptState::delivered && (r.notify & notify_success) && !r.reported) {
      if (reports_allowed) {
        successes.push_back(n);
      } else {
        r.reported = true;  // nothing to send; no record needed either
      }
    }
    if (delay_notice_due(s, m.birth_ns, r, now_ns)) {
      if (reports_allowed) {
        delays.push_back(n);
      } else {
        r.warned = true;
      }
    }
  }
  if (fails.empty() && successes.empty() && delays.empty()) return BounceOutcome::queued;
  auto qf = read_queue_file(store.mess_path(m.id));
  if (!qf) {
    reason = qf.error().reason;
    return BounceOutcome::deferred;
  }
  const Envelope& env = qf->envelope;
  NoticeJob job{s, m, *qf, id, now_ns};
  auto dsn_rcpt = [&](uint32_t n, DsnAction a) {
    const Rcpt& r = m.rcpts[n];
    return DsnRecipient{r.address, n < env.recipients.size() ? env.recipients[n].orcpt : "", r.reason, a};
  };

  // With a VERP sender each recipient has its own return path, so its own notice.
  std::map<std::string, std::vector<DsnRecipient>> groups;
  size_t silenced = 0;
  for (uint32_t n : fails) {
    if (!(m.rcpts[n].notify & notify_failure)) {
      ++silenced;  // NOTIFY=NEVER, or a list without FAILURE
      continue;
    }
    groups[verp_return_path(m.sender, m.rcpts[n].address)].push_back(dsn_rcpt(n, DsnAction::failed));
  }
  if (silenced > 0) log_info({{"msg", id}, {"event", "bounce"}, {"result", "not requested"}, {"rcpts", silenced}});
  if (!fails.empty()) {
    if (!send_failures(job, groups, reason)) return BounceOutcome::deferred;
    for (uint32_t n : fails) m.rcpts[n].bounced = true;
  }

  // Success and delay reports: one notice per kind and return path.
  for (bool success : {true, false}) {
    std::map<std::string, std::vector<uint32_t>> by_path;
    for (uint32_t n : success ? successes : delays) by_path[verp_return_path(m.sender, m.rcpts[n].address)].push_back(n);
    for (const auto& [return_path, ns] : by_path) {
      std::vector<DsnRecipient> rs;
      for (uint32_t n : ns) {
        // A remote recipient delivered here was handed to a peer without DSN (one
        // with DSN reports itself: its recipients are marked reported at delivery).
        DsnAction a = !success ? DsnAction::delayed
                      : is_local_address(s, m.rcpts[n].address) ? DsnAction::delivered
                                                                : DsnAction::relayed;
        rs.push_back(dsn_rcpt(n, a));
      }
      Injected r = inject_notice(job, {BounceKind::bounce, "", return_path}, rs, false, reason);
      if (r == Injected::deferred) {
        log_warn({{"msg", id}, {"event", "report"}, {"result", "deferred"}, {"reason", reason}});
        return BounceOutcome::deferred;
      }
      if (r == Injected::refused) {
        // A report is a courtesy: one its recipient's address refuses is not sent on.
        log_warn({{"msg", id}, {"event", "report"}, {"result", "refused"}, {"to", "<" + return_path + ">"},
                  {"reason", reason}});
      }
      for (uint32_t n : ns) {
        (success ? m.rcpts[n].reported : m.rcpts[n].warned) = true;
        records += success ? stat_reported_record(n) : stat_warned_record(n);
      }
    }
  }
  reason.clear();
  return BounceOutcome::queued;
}

}  // namespace quail
