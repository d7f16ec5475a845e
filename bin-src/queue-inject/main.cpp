// queue-inject: add one message to the queue (qmail-queue protocol: the message
// on fd 0, the envelope on fd 1). Exit codes are qmail-queue's. See man/queue-inject.8
// and queue-layout/README.md. Trusts neither fd: both are validated before commit.
#include <csignal>
#include <ctime>
#include <sys/stat.h>
#include <unistd.h>

#include "date.hpp"
#include "envelope.hpp"
#include "fd.hpp"
#include "log.hpp"
#include "program.hpp"
#include "queue_exit.hpp"
#include "queue_file.hpp"
#include "root.hpp"

namespace {

constexpr size_t max_envelope_bytes = 16 << 20;
constexpr unsigned max_seconds = 86400;

int fail(int code, const std::string& reason, const std::string& id = "") {
  if (id.empty()) {
    quail::log_warn({{"event", "refused"}, {"code", code}, {"reason", reason}});
  } else {
    quail::log_warn({{"msg", id}, {"event", "refused"}, {"code", code}, {"reason", reason}});
  }
  return code;
}

// Tells a quail caller the new id ("K<id>" on fd 6, where notqmail's callers read
// exit 82's text), so its own log can say msg=<id>. Only a pipe there is ours.
void report_id(const std::string& id) {
  struct stat st;
  if (::fstat(6, &st) != 0 || !S_ISFIFO(st.st_mode)) return;
  quail::write_all(6, "K" + id);
}

int inject() {
  std::string root = quail::resolve_root(nullptr);
  struct stat st;
  if (::stat(root.c_str(), &st) != 0) return fail(quail::qq::root_home, "unable to stat root " + root);
  quail::QueueDirs dirs(root);
  if (::stat(dirs.todo().c_str(), &st) != 0) return fail(quail::qq::queue_dir, "unable to stat " + dirs.todo());

  // S1: a new file in tmp/ named by pid and time; its inode is the message's id.
  auto writer = quail::QueueWriter::create(dirs);
  if (!writer) return fail(quail::qq::queue_pid, writer.error().reason);
  const std::string id = writer->id();

  std::string trace = "Received: (quail-queue " + id + " invoked by uid " + std::to_string(::getuid()) + "); " +
                      quail::rfc5322_date(std::time(nullptr)) + "\n";
  if (auto s = writer->append(trace); !s) return fail(quail::qq::write_error, s.error().reason, id);

  char buf[65536];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(quail::qq::read_error, "unable to read the message: " + std::string(strerror(errno)), id);
    }
    if (n == 0) break;
    if (auto s = writer->append(std::string_view(buf, static_cast<size_t>(n))); !s) {
      return fail(quail::qq::write_error, s.error().reason, id);
    }
  }

  std::string env_bytes;
  if (!quail::read_all(1, env_bytes, max_envelope_bytes)) {
    if (errno == EFBIG) return fail(quail::qq::envelope_format, "envelope over 16 MiB", id);
    return fail(quail::qq::read_error, "unable to read the envelope: " + std::string(strerror(errno)), id);
  }
  if (env_bytes.empty()) {
    // The caller gave up on the message (smtpd refusing it after DATA): not a queue problem.
    quail::log_info({{"msg", id}, {"event", "aborted"}});
    return quail::qq::envelope_format;
  }
  auto env = quail::parse_envelope(env_bytes);
  if (!env) {
    int code = env.error().kind == quail::ErrorKind::too_long ? quail::qq::address_too_long : quail::qq::envelope_format;
    return fail(code, env.error().reason, id);
  }

  // S1 -> S2: fsync the file, rename into todo/, fsync todo/.
  if (auto s = writer->commit(*env); !s) {
    return fail(s.error().kind == quail::ErrorKind::io_write ? quail::qq::write_error : quail::qq::queue_todo,
                s.error().reason, id);
  }
  quail::log_info({{"msg", id}, {"event", "queued"}, {"from", "<" + env->sender + ">"},
                   {"rcpts", env->recipients.size()}, {"uid", ::getuid()}});
  quail::pull_trigger(dirs);
  report_id(id);
  return 0;
}

}  // namespace

int main() {
  return quail::run_main("queue-inject", {quail::qq::no_memory, quail::qq::internal_bug}, [] {
    std::signal(SIGALRM, [](int) { _exit(quail::qq::timeout); });
    alarm(max_seconds);
    return inject();
  });
}
