// queue-inject's session run inside smtpd's own process (lib/inject_local.hpp,
// man/queue-inject.8, "Session mode"): what main() and session mode do for each
// message, without the process. The same Injection, so the same files, fsyncs,
// log lines and codes.
#include <cstdlib>
#include <new>
#include <optional>
#include <sys/stat.h>

#include "injection.hpp"
#include "inject_local.hpp"
#include "log.hpp"
#include "modes.hpp"
#include "queue_exit.hpp"

namespace quail::queue_inject {
namespace {

// Queue files are the queue's whatever smtpd's umask is (as main() sets it).
class QueueUmask {
 public:
  QueueUmask() : saved_(::umask(027)) {}
  ~QueueUmask() { ::umask(saved_); }

 private:
  mode_t saved_;
};

class Local : public LocalInjector {
 public:
  Local(const std::string& root, const Control& control) : root_(root), dirs_(root), control_(control) {
    // queue-send's notices come through the classic protocol: an SMTP session
    // never uses their reserve below the free-space floor.
    ::unsetenv("QUAIL_NOTICE");
    LogAs as("queue-inject");
    databytes_ok_ = read_databytes(control_, databytes_);
  }

  int begin() override {
    return guarded([&] {
      msg_.reset();
      text_.clear();
      if (!databytes_ok_) return done(qq::config_error, "");
      msg_.emplace(root_, dirs_, control_, databytes_);
      return check(msg_->start());
    });
  }
  int append(std::string_view bytes) override {
    return guarded([&] { return msg_ ? check(msg_->append(bytes)) : code_; });
  }
  int finish(std::string_view envelope) override {
    return guarded([&] {
      if (!msg_) return code_;
      if (int code = msg_->finish(envelope); code != 0) return check(code);
      std::string answer = "K" + msg_->id();
      msg_.reset();  // its header copy (up to 64 KiB) need not outlive the message
      return done(0, std::move(answer));
    });
  }
  void abort() override {
    LogAs as("queue-inject");
    if (msg_) {
      msg_->abort();
    } else {
      log_info({{"event", "aborted"}});
    }
    msg_.reset();
  }
  std::string answer_text() const override { return text_; }

 private:
  // A failure ends the message: its reason is the answer's text.
  int check(int code) { return code == 0 ? 0 : done(code, msg_->reason()); }
  int done(int code, std::string text) {
    code_ = code;
    text_ = std::move(text);
    if (code != 0) msg_.reset();  // a failed message's tmp file goes with it
    return code;
  }
  // What run_main gives the program: an exception fails the message, not smtpd.
  template <typename F>
  int guarded(F&& step) {
    LogAs as("queue-inject");
    QueueUmask mask;
    try {
      return step();
    } catch (const std::bad_alloc&) {
      log_error({{"event", "fatal"}, {"reason", "out of memory"}});
      return done(qq::no_memory, "");
    } catch (const std::exception& e) {
      log_error({{"event", "fatal"}, {"reason", std::string("internal error: ") + e.what()}});
      return done(qq::internal_bug, "");
    }
  }

  const std::string root_;
  const QueueDirs dirs_;
  const Control control_;  // the caller's: smtpd's, read once per session
  uint64_t databytes_ = 0;
  bool databytes_ok_ = false;
  std::optional<Injection> msg_;
  int code_ = 0;
  std::string text_;
};

}  // namespace

std::unique_ptr<LocalInjector> local_injector(const std::string& root, const Control& control) {
  return std::make_unique<Local>(root, control);
}

}  // namespace quail::queue_inject
