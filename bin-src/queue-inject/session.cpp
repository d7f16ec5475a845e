// Session mode (queue-inject -s): messages framed on fd 0 (lib/inject_frame),
// each answered on fd 1 with one line as soon as it is committed, so smtpd
// starts one queue-inject per SMTP session instead of one per message. Every
// message gets what the classic protocol gives it: the same files, fsyncs,
// log lines, trigger and code. Trusts nothing on fd 0: the parser is strict.
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <unistd.h>

#include "fd.hpp"
#include "inject_frame.hpp"
#include "injection.hpp"
#include "log.hpp"
#include "modes.hpp"
#include "queue_exit.hpp"

namespace quail::queue_inject {
namespace {

// A day per message, as in the classic protocol, and a day of silence between
// messages; the alarm is rearmed at each message's first frame and each answer.
constexpr unsigned max_seconds = 86400;
volatile sig_atomic_t in_message = 0;

void on_alarm(int) { _exit(in_message ? qq::timeout : 0); }

class SessionLoop {
 public:
  SessionLoop(const std::string& root, uint64_t databytes, const Control& control)
      : root_(root), dirs_(root), control_(control), databytes_(databytes) {}
  // Feeds what was read; false when the session must end (*code says how).
  bool feed(std::string_view in, int& code);
  // End of input or a read error: clean between messages, else the message is lost.
  int end(int read_errno);

 private:
  void event(const frame::Event& ev);
  bool answer(int code, std::string_view text);
  const std::string root_;
  const QueueDirs dirs_;
  const Control& control_;
  const uint64_t databytes_;
  frame::Parser parser_;
  std::optional<Injection> msg_;
  int failed_ = 0;  // the code of a failure earlier in this message; its frames are read and dropped
  bool answer_lost_ = false;
};

bool SessionLoop::answer(int code, std::string_view text) {
  const std::string line = frame::format_answer(code, text);  // text may be msg_'s
  msg_.reset();
  failed_ = 0;
  in_message = 0;
  alarm(max_seconds);
  // A caller that is gone cannot be told; a committed message stays queued (at
  // worst a duplicate if it is sent again, as with a classic caller that died).
  if (!write_all(1, line)) answer_lost_ = true;
  return !answer_lost_;
}

void SessionLoop::event(const frame::Event& ev) {
  using Kind = frame::Event::Kind;
  if (ev.kind == Kind::aborted) {
    if (msg_) {
      msg_->abort();
    } else {
      log_info({{"event", "aborted"}});
    }
    answer(failed_ ? failed_ : qq::envelope_format, "aborted");
    return;
  }
  if (!msg_ && !failed_) {
    msg_.emplace(root_, dirs_, control_, databytes_);
    failed_ = msg_->start();
  }
  if (ev.kind == Kind::data) {
    if (!failed_) failed_ = msg_->append(ev.bytes);
    return;
  }
  // Kind::end: the envelope (never empty: a frame has at least one octet).
  if (!failed_) failed_ = msg_->finish(ev.bytes);
  if (failed_) {
    answer(failed_, msg_->reason());
  } else {
    answer(0, "K" + msg_->id());
  }
}

bool SessionLoop::feed(std::string_view in, int& code) {
  while (!in.empty()) {
    size_t used = 0;
    frame::Event ev;
    if (auto s = parser_.next(in, used, ev); !s) {
      // The caller does not speak the protocol: nothing of this message is kept.
      std::string id = msg_ ? msg_->id() : "";
      msg_.reset();
      code = refuse(qq::envelope_format, "unable to read the session input: " + s.error().reason, id);
      answer(code, s.error().reason);
      return false;
    }
    in.remove_prefix(used);
    if (!in_message && !parser_.at_boundary()) {
      in_message = 1;
      alarm(max_seconds);
    }
    if (ev.kind != frame::Event::Kind::none) event(ev);
    if (answer_lost_) {
      code = qq::write_error;
      return false;
    }
  }
  return true;
}

int SessionLoop::end(int read_errno) {
  if (parser_.at_boundary() && read_errno == 0) return 0;
  std::string id = msg_ ? msg_->id() : "";
  msg_.reset();  // removes the message's tmp file: it was never complete
  if (read_errno != 0) return refuse(qq::read_error, "unable to read the message: " + std::string(strerror(read_errno)), id);
  return refuse(qq::read_error, "input ended inside a message", id);
}

}  // namespace

int run_session(const std::string& root, uint64_t databytes, const Control& control) {
  // queue-send's notices come one at a time through the classic protocol: a session
  // (smtpd's) never uses their reserve below the free-space floor.
  ::unsetenv("QUAIL_NOTICE");
  std::signal(SIGALRM, on_alarm);
  in_message = 0;  // the resident injector's child runs one session after another
  alarm(max_seconds);
  SessionLoop loop(root, databytes, control);
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return loop.end(n < 0 ? errno : 0);
    int code = 0;
    if (!loop.feed(std::string_view(buf, static_cast<size_t>(n)), code)) return code;
  }
}

}  // namespace quail::queue_inject
