// One message into the queue: see injection.hpp. Order of writes and fsyncs:
// queue-layout/README.md, "Order of writes in queue-inject" (lib/queue_file does them).
#include "injection.hpp"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <sys/stat.h>
#include <unistd.h>

#include "control.hpp"
#include "date.hpp"
#include "envelope.hpp"
#include "headers.hpp"
#include "log.hpp"
#include "queue_exit.hpp"
#include "queue_space.hpp"

namespace quail::queue_inject {

namespace {
std::optional<uid_t> peer_uid;
}  // namespace

uid_t caller_uid() { return peer_uid ? *peer_uid : ::getuid(); }
void set_caller_uid(uid_t uid) { peer_uid = uid; }

int refuse(int code, const std::string& reason, const std::string& id) {
  if (id.empty()) {
    log_warn({{"event", "refused"}, {"code", code}, {"reason", reason}});
  } else {
    log_warn({{"msg", id}, {"event", "refused"}, {"code", code}, {"reason", reason}});
  }
  return code;
}

bool read_databytes(const Control& control, uint64_t& out) {
  auto v = control.integer("databytes");
  if (!v) {
    refuse(qq::config_error, v.error().reason);
    return false;
  }
  out = static_cast<uint64_t>(*v);
  return true;
}

int Injection::fail(int code, std::string reason) {
  // A message that failed is never committed: the writer's destructor removes tmp/.
  writer_.reset();
  refuse(code, reason, id_);
  // Exit 82's text goes to the caller as notqmail's "Z<text>" (temporary).
  reason_ = code == qq::custom_error ? "Z" + reason : std::move(reason);
  return code;
}

// queue-send's notices keep a reserve below the free-space floor (control/queuefree):
// asked for with QUAIL_NOTICE=1, and believed only from the queue's scheduler (the
// owner of stat/) or root, since a set-uid queue-inject's caller sets its own
// environment.
bool Injection::notice_reserve() const {
  const char* v = std::getenv("QUAIL_NOTICE");
  if (!v || std::string_view(v) != "1") return false;
  if (::getuid() == 0) return true;
  struct stat st;
  return ::stat(dirs_.stat().c_str(), &st) == 0 && st.st_uid == ::getuid();
}

int Injection::check_floor() {
  if (notice_reserve()) return 0;
  auto below = queue_below_floor(control_, root_, 0);
  if (!below) return fail(below.error().kind == ErrorKind::config ? qq::config_error : qq::queue_dir, below.error().reason);
  if (*below) return fail(qq::custom_error, **below);
  return 0;
}

int Injection::start() {
  struct stat st;
  if (::stat(root_.c_str(), &st) != 0) return fail(qq::root_home, "unable to stat root " + root_);
  if (::stat(dirs_.todo().c_str(), &st) != 0) return fail(qq::queue_dir, "unable to stat " + dirs_.todo());
  // A nearly full disk refuses the message before any of it is written.
  if (int code = check_floor(); code != 0) return code;

  // S1: a new file in tmp/ named by pid and time; its inode is the message's id.
  auto writer = QueueWriter::create(dirs_);
  if (!writer) return fail(qq::queue_pid, writer.error().reason);
  id_ = writer->id();
  writer_.emplace(std::move(*writer));
  std::string trace = "Received: (quail-queue " + id_ + " invoked by uid " + std::to_string(caller_uid()) + "); " +
                      rfc5322_date_utc(std::time(nullptr)) + "\n";
  // Our own trace line is not the caller's message: databytes does not count it.
  if (auto s = writer_->append(trace); !s) return fail(qq::write_error, s.error().reason);
  return 0;
}

int Injection::append(std::string_view bytes) {
  if (!size_.add(bytes)) {
    // Refused at once, so a message over the limit never fills the disk.
    return fail(qq::refused, "message over databytes (" + std::to_string(size_.limit()) + " bytes) (#5.3.4)");
  }
  if (!head_done_) watch_header(bytes);
  if (auto s = writer_->append(bytes); !s) return fail(qq::write_error, s.error().reason);
  return 0;
}

int Injection::finish(std::string_view env_bytes) {
  if (env_bytes.empty()) {
    // The caller gave up on the message (smtpd refusing it after DATA): not a queue problem.
    abort();
    return qq::envelope_format;
  }
  auto env = parse_envelope(env_bytes);
  if (!env) {
    int code = env.error().kind == ErrorKind::too_long ? qq::address_too_long : qq::envelope_format;
    return fail(code, env.error().reason);
  }
  // S1 -> S2: fsync the file, rename into todo/, fsync todo/.
  if (auto s = writer_->commit(*env); !s) {
    return fail(s.error().kind == ErrorKind::io_write ? qq::write_error : qq::queue_todo, s.error().reason);
  }
  writer_.reset();
  std::string mid = message_id_field();
  if (mid.empty()) {
    log_info({{"msg", id_}, {"event", "queued"}, {"from", "<" + env->sender + ">"},
              {"rcpts", env->recipients.size()}, {"uid", caller_uid()}});
  } else {
    log_info({{"msg", id_}, {"event", "queued"}, {"from", "<" + env->sender + ">"},
              {"rcpts", env->recipients.size()}, {"uid", caller_uid()}, {"message-id", mid}});
  }
  pull_trigger(dirs_);
  return 0;
}

void Injection::watch_header(std::string_view bytes) {
  constexpr size_t max_head = 64 << 10;
  size_t from = head_.size() < 1 ? 0 : head_.size() - 1;
  head_.append(bytes.substr(0, max_head - std::min(max_head, head_.size())));
  // The header ends at the first empty line; a header larger than 64 KiB is
  // looked at as far as it was kept.
  if (head_.find("\n\n", from) != std::string::npos || head_.size() >= max_head) head_done_ = true;
}

// The Message-ID field's value (the header value only: never another header, never
// the body), at most 200 bytes; log_quote escapes what is not printable.
std::string Injection::message_id_field() const {
  HeaderSplit split = split_message(head_);
  auto fields = parse_header(std::string_view(head_).substr(0, split.header_end));
  if (!fields) return "";
  const HeaderField* f = find_field(*fields, "Message-ID");
  if (!f) return "";
  std::string v = f->value();
  return v.size() > 200 ? v.substr(0, 200) : v;
}

void Injection::abort() {
  writer_.reset();
  reason_ = "aborted";
  if (id_.empty()) {
    log_info({{"event", "aborted"}});
  } else {
    log_info({{"msg", id_}, {"event", "aborted"}});
  }
}

}  // namespace quail::queue_inject
