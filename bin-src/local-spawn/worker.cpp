// A delivery worker: see worker.hpp. Runs as local-spawn's user (single-user
// instances), or as root only until it becomes its user (switching users);
// trusts the server's packets only as decode_request checks them.
#include "worker.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.hpp"
#include "config_cache.hpp"
#include "delivery_terms.hpp"
#include "fd.hpp"
#include "local_lookup.hpp"
#include "log.hpp"
#include "lspawn.hpp"
#include "srs_key.hpp"

namespace quail {
namespace {

constexpr int ctl = 3, reason_read = 4, null_fd = 5, home_fd = 6;
constexpr size_t max_reason = 4096;

// fd 0 /dev/null between deliveries, 1 the reason pipe, 2 the log, 3 the socket
// to the server, 4 the pipe's read end, 5 /dev/null, 6 the start directory; nothing else.
bool take_descriptors(int ctl_fd) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return false;
  int fds[] = {::fcntl(ctl_fd, F_DUPFD_CLOEXEC, 10), ::fcntl(p[0], F_DUPFD_CLOEXEC, 10),
               ::open("/dev/null", O_RDONLY | O_CLOEXEC), ::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)};
  for (int& fd : fds) {
    if (fd < 0) return false;
    if (fd < 10) fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);  // out of the way of 0-6
    if (fd < 0) return false;
  }
  if (::dup2(p[1], 1) < 0 || ::dup2(fds[2], 0) < 0) return false;
  for (int i = 0; i < 4; ++i) {
    if (::dup3(fds[i], ctl + i, O_CLOEXEC) < 0) return false;
  }
  ::fcntl(reason_read, F_SETFL, O_NONBLOCK);
  close_from(home_fd + 1);
  return true;
}

// What the delivery wrote on fd 1 (the pipe holds it: a reason is one short line).
std::string take_reason() {
  std::string out;
  char buf[max_reason];
  ssize_t n;
  while (out.size() < max_reason && (n = ::read(reason_read, buf, max_reason - out.size())) > 0) {
    out.append(buf, static_cast<size_t>(n));
  }
  while (n > 0) n = ::read(reason_read, buf, sizeof buf);  // a longer text is cut here, not left for the next
  return out;
}

// Switching users: the key while still root, then the user for good, and
// non-dumpable whatever the system's fs.suid_dumpable, so that no process of
// the user can read the key or the worker's memory (ptrace, /proc/PID/mem).
bool become_worker_user(const WorkerSpec& spec, WorkerKey& key) {
  auto srs = load_srs_key(spec.root);
  if (srs) {
    key.srs = std::move(*srs);
  } else {
    key.error = srs.error().reason;
  }
  // Before the switch, so the key is never in a dumpable process of the user,
  // and after it: the switch sets the flag from fs.suid_dumpable, which may be 1.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return false;
  if (spec.who->uid == 0 || !become_with_groups(*spec.who, *spec.groups)) return false;
  return ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 && ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0;
}

}  // namespace

void run_delivery_worker(const WorkerSpec& spec) {
  reset_child_signals(*spec.reset_signals);
  if (!take_descriptors(spec.ctl_fd)) _exit(111);
  forget_inherited_tables();  // the server's routing lookups (uid_route.hpp) opened them
  take_child_environment(*spec.env);
  log_set_program("local-deliver");
  WorkerKey key;
  if (spec.who && !become_worker_user(spec, key)) {
    log_error({{"event", "fatal"}, {"reason", "unable to switch to uid " + std::to_string(spec.who->uid)}});
    _exit(111);
  }
  forget_cached_control();  // the server's copy, read as root: this worker reads its own
  for (int served = 0; served < worker_deliveries; ++served) {
    Fd msg;
    auto req = recv_request(ctl, msg);
    if (!req) _exit(req.error().kind == ErrorKind::not_found ? 0 : 111);  // not_found: the server closed
    bool healthy = false;
    int code = 111;
    if (::dup2(msg.get(), 0) == 0) {
      msg.reset();
      code = spec.who ? deliver_as_worker_user(*req, spec.root, key, healthy)
                      : deliver_request(*req, spec.root, false, healthy);
    }
    // As a child that exits would: the queue file is let go, the directory is the start's.
    ::dup2(null_fd, 0);
    (void)!::fchdir(home_fd);
    // Before the last reply, the socket is shut for reading: the server's next
    // request then fails at once (EPIPE) and goes to another worker, instead of
    // being sent to one that is about to exit.
    bool last = !healthy || served + 1 == worker_deliveries;
    if (last) ::shutdown(ctl, SHUT_RD);
    auto sent = send_reply(ctl, reply_for(req->dlv, W_EXITCODE(code, 0), take_reason()));
    if (!sent || !healthy) _exit(111);
  }
  _exit(0);
}

}  // namespace quail
