// Where the session meets its content filters (milter.hpp): one call per SMTP
// stage, and the message spooled to an unlinked temporary file when a filter
// is configured, so the filters' verdict and changes come before anything
// reaches queue-inject, which stays the only writer of the queue.
// With no filter configured every hook returns at its first line.
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.hpp"
#include "milter_message.hpp"
#include "session.hpp"

namespace quail::smtpd {
namespace {

std::vector<std::string> esmtp_args(const SmtpCommand& c) {
  std::vector<std::string> out;
  for (const auto& p : c.params) out.push_back(p.has_value ? p.keyword + "=" + p.value : p.keyword);
  return out;
}

// An unlinked file in $TMPDIR (else /tmp); in memory when there is none.
Fd spool_file() {
  const char* dir = std::getenv("TMPDIR");
  int fd = ::open(dir && *dir ? dir : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) fd = ::memfd_create("smtpd-milter", MFD_CLOEXEC);
  return Fd(fd);
}

// Buffers the message's pieces into the spool in large writes.
class SpoolSink : public MessageSink {
 public:
  explicit SpoolSink(int fd) : fd_(fd) {}
  bool write(std::string_view bytes) override {
    buf_.append(bytes);
    return buf_.size() < (256 << 10) || flush();
  }
  bool flush() {
    bool ok = write_all(fd_, buf_);
    buf_.clear();
    return ok;
  }

 private:
  int fd_;
  std::string buf_;
};

}  // namespace

MilterSession* Session::milters() {
  if (s_.milters.filters.empty()) return nullptr;
  if (!milter_) {
    milter_ = std::make_unique<MilterSession>(s_.milters, MilterPeer{s_.me, s_.sid, s_.remote_ip, s_.remote_port, "", ""});
  }
  return milter_.get();
}

bool Session::milter_refused(const std::optional<MilterRefusal>& r) {
  if (!r) return false;
  reply(io_, r->code, r->enhanced, r->text);
  return true;
}

bool Session::milter_refused_helo(const std::string& helo) {
  auto* m = milters();
  return m && milter_refused(m->helo(helo));
}

bool Session::milter_refused_mail(const SmtpCommand& c, const Envelope& env) {
  auto* m = milters();
  if (!m) return false;
  std::string ref = s_.sid + "." + std::to_string(message_no_ + 1);
  auto r = m->mail(env.sender, esmtp_args(c), ref, auth_user_);
  if (r) {
    log_info({{"sid", s_.sid}, {"event", "mail"}, {"result", r->code >= 500 ? "reject" : "defer"}, {"dsn", r->enhanced},
              {"from", "<" + env.sender + ">"}});
  }
  return milter_refused(r);
}

bool Session::milter_refused_rcpt(const SmtpCommand& c, const Address& a) {
  auto* m = milters();
  if (!m) return false;
  auto r = m->rcpt(a.str(), esmtp_args(c));
  if (!r) return false;
  ++rcpts_refused_;
  log_info({{"sid", s_.sid}, {"event", "rcpt"}, {"result", r->code >= 500 ? "reject" : "defer"}, {"dsn", r->enhanced},
            {"from", "<" + tx_.env.sender + ">"}, {"to", "<" + a.str() + ">"}});
  return milter_refused(r);
}

Result<qq::Outcome> Session::inject_filtered(const std::function<bool(MessageSink&)>& pump, int* code) {
  auto* m = milters();
  if (!m) return inject_.inject(pump, tx_.env, code);
  *code = -1;
  Fd spool = spool_file();
  if (!spool.valid()) {
    m->abort();
    return sys_error(ErrorKind::temporary, "create the milter spool file");
  }
  SpoolSink sink(spool.get());
  bool pumped = pump(sink) && sink.flush();
  // A message the client did not finish, or that smtpd refuses, never reaches the filters.
  if (!pumped || msg_io_ != IoStatus::ok || end_ || bdat_end_ != BdatEnd::none) {
    m->abort();
    return qq::Outcome{false, "unable to spool the message (#4.3.0)", ""};
  }
  MilterSession::Verdict v = m->end_of_message(spool.get());
  if (v.refusal) {
    milter_dsn_ = v.refusal->enhanced;
    early_ = Refusal{v.refusal->code, milter_dsn_, v.refusal->text};
    return qq::Outcome{v.refusal->code >= 500, v.refusal->text, ""};
  }
  if (v.discard) {
    log_info({{"sid", s_.sid}, {"event", "milter"}, {"filter", v.discarded_by}, {"stage", "eom"}, {"result", "discard"},
              {"from", "<" + tx_.env.sender + ">"}, {"rcpts", tx_.env.recipients.size()}});
    *code = 0;
    return qq::Outcome{false, "", ""};
  }
  SpooledMessage msg;
  if (!msg.parse(spool.get())) return sys_error(ErrorKind::temporary, "read the milter spool file");
  for (size_t i = 0; i < v.changes.size(); ++i) {
    const auto& [filter, change] = v.changes[i];
    if (!msg.apply(change, v.leadspace[i], tx_.env)) {
      log_warn({{"sid", s_.sid}, {"event", "milter"}, {"filter", filter->spec}, {"stage", "eom"}, {"result", "fail"},
                {"reason", "a change that cannot be applied was skipped"}});
    }
  }
  if (!v.changes.empty()) {
    log_info({{"sid", s_.sid}, {"event", "milter"}, {"stage", "eom"}, {"result", "changed"},
              {"changes", v.changes.size()}, {"rcpts", tx_.env.recipients.size()}});
  }
  if (tx_.env.recipients.empty()) {
    log_info({{"sid", s_.sid}, {"event", "milter"}, {"stage", "eom"}, {"result", "discard"},
              {"reason", "filters removed every recipient"}});
    *code = 0;
    return qq::Outcome{false, "", ""};
  }
  // Quarantine: the envelope's hold mark makes queue-send stow the message in
  // hold/ as it takes it, before any delivery starts (queue-layout/envelope.md).
  if (v.quarantine) tx_.env.extra.emplace_back("hold", "quarantine");
  auto outcome = inject_.inject([&](MessageSink& out) { return msg.write(spool.get(), out); }, tx_.env, code);
  if (outcome && *code == 0 && v.quarantine) {
    log_info({{"sid", s_.sid}, {"msg", outcome->id}, {"event", "milter"}, {"stage", "eom"}, {"result", "quarantine"},
              {"reason", *v.quarantine}});
  }
  return outcome;
}

}  // namespace quail::smtpd
