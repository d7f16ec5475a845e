// Failure notices: see bouncer.hpp. The original is streamed from mess/<id> into
// queue-inject's pipe, never held in memory. Log lines: event=bounce, event=dropped.
#include "bouncer.hpp"

#include <ctime>
#include <map>
#include <unistd.h>

#include "bounce.hpp"
#include "inject_client.hpp"
#include "log.hpp"
#include "queue_exit.hpp"

namespace quail {
namespace {

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

bool non_ascii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

// Copies the original (or its header section) from fd at byte 56 into out.
bool copy_original(int fd, uint64_t length, bool headers_only, int out) {
  char buf[65536];
  uint64_t off = 0;
  char prev = '\0';
  bool at_line_start = true;
  while (off < length) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof buf, length - off));
    ssize_t n = ::pread(fd, buf, want, static_cast<off_t>(queue_header_size + off));
    if (n <= 0) return false;
    size_t take = static_cast<size_t>(n);
    if (headers_only) {
      // Stop after the blank line that ends the header section.
      for (size_t i = 0; i < take; ++i) {
        if (buf[i] == '\n' && (prev == '\n' || (at_line_start && off + i == 0))) {
          return write_all(out, std::string_view(buf, i + 1));
        }
        prev = buf[i];
        at_line_start = false;
      }
    }
    if (!write_all(out, std::string_view(buf, take))) return false;
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
};

// Builds one notice for `failed` and hands it to queue-inject along `route`.
Injected inject_notice(const NoticeJob& job, const BounceRoute& route, const std::vector<BounceRecipient>& failed,
                       bool headers_only, std::string& reason) {
  const Settings& s = job.s;
  const Envelope& env = job.qf.envelope;
  int64_t now = now_ns();
  BounceSpec spec;
  spec.me = s.me;
  spec.from = s.bouncefrom + "@" + s.me;
  spec.to = route.recipient;
  spec.envid = env.envid;
  spec.boundary = "quail-" + job.id + "-" + std::to_string(now) + "/" + s.me;
  spec.message_id = "quail-bounce-" + job.id + "-" + std::to_string(now) + "@" + s.me;
  spec.arrival = job.m.birth_ns / 1000000000;
  spec.now = now / 1000000000;
  spec.headers_only = headers_only;
  spec.double_bounce = route.kind == BounceKind::double_bounce;
  spec.failed = failed;
  BounceText text = build_bounce(spec);

  Envelope benv;
  benv.sender = route.envelope_sender;
  benv.recipients.push_back({route.recipient, "", ""});
  benv.smtputf8 = env.smtputf8 || non_ascii(route.recipient);
  int fd = job.qf.fd.get();
  uint64_t length = job.m.length;
  int code = -1;
  auto outcome = inject_message(
      s.root,
      [&](int out) {
        return write_all(out, text.head) && copy_original(fd, length, spec.headers_only, out) && write_all(out, text.tail);
      },
      benv, &code);
  if (outcome && code == 0) {
    log_info({{"msg", job.id}, {"event", "bounce"}, {"to", "<" + route.recipient + ">"},
              {"kind", spec.double_bounce ? "double" : "single"}, {"rcpts", failed.size()}});
    return Injected::ok;
  }
  reason = outcome ? outcome->text : outcome.error().reason;
  if (outcome && code == qq::refused && !headers_only) return Injected::too_big;  // over control/databytes
  return outcome && outcome->permanent ? Injected::refused : Injected::deferred;
}

}  // namespace

BounceOutcome send_bounces(const Settings& s, const Store& store, const Message& m, std::string& reason) {
  const std::string id = m.id_str();
  auto qf = read_queue_file(store.mess_path(m.id));
  if (!qf) {
    reason = qf.error().reason;
    return BounceOutcome::deferred;
  }
  const Envelope& env = qf->envelope;
  // With a VERP sender each recipient has its own return path, so its own notice.
  std::map<std::string, std::vector<BounceRecipient>> groups;
  size_t silenced = 0;
  for (size_t n = 0; n < m.rcpts.size() && n < env.recipients.size(); ++n) {
    const Rcpt& r = m.rcpts[n];
    if (r.state != RcptState::failed || r.bounced) continue;
    if (!notify_on_failure(env.recipients[n].notify)) {
      ++silenced;  // NOTIFY=NEVER, or a list without FAILURE
      continue;
    }
    groups[verp_return_path(m.sender, r.address)].push_back({r.address, env.recipients[n].orcpt, r.reason});
  }
  if (silenced > 0) log_info({{"msg", id}, {"event", "bounce"}, {"result", "not requested"}, {"rcpts", silenced}});
  NoticeJob job{s, m, *qf, id};
  // XXX: when one of several VERP notices is deferred, those already queued are
  // queued again at the next try (a duplicate notice, never a lost one).
  for (const auto& [return_path, failed] : groups) {
    BounceRoute route = bounce_route(return_path, s.me, s.doublebounceto);
    bool headers_only = env.ret == "HDRS";
    for (;;) {
      if (route.kind == BounceKind::drop) {
        log_warn({{"msg", id}, {"event", "dropped"}, {"reason", "a double bounce failed; dropped so nothing loops"},
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
        log_warn({{"msg", id}, {"event", "bounce"}, {"result", "deferred"}, {"reason", reason}});
        return BounceOutcome::deferred;
      }
      // queue-inject refused the notice for good (an address it will never take):
      // the postmaster gets it as a double bounce, and a refused double bounce is dropped.
      log_warn({{"msg", id}, {"event", "bounce"}, {"result", "refused"}, {"to", "<" + route.recipient + ">"},
                {"reason", reason}});
      route = bounce_route(route.kind == BounceKind::bounce ? "" : std::string(double_bounce_sender), s.me,
                           s.doublebounceto);
    }
  }
  reason.clear();
  return BounceOutcome::queued;
}

}  // namespace quail
