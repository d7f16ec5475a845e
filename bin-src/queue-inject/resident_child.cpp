// A session process of the resident injector (resident.cpp): it serves the
// caller it was forked for, then, while it is allowed to, further callers the
// parent hands it over `link`, one session at a time, as Postfix's cleanup
// serves up to 100 clients. What one session leaves behind is undone before the
// next: the caller's uid, its stderr, its descriptors, the alarm, control/ (read
// afresh per session). A session that did not end cleanly (a frame it could not
// read, a caller that vanished inside a message, a write that failed) ends the
// process instead: the next caller gets a fresh one.
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd.hpp"
#include "fd_passing.hpp"
#include "injection.hpp"
#include "modes.hpp"
#include "queue_exit.hpp"
#include "resident_children.hpp"

namespace quail::queue_inject {
namespace {

// The caller's stderr, passed with the first byte (SCM_RIGHTS), so this
// session's log lines go where an exec'd queue-inject's would: the caller's log.
void take_callers_stderr(int sock) {
  char byte;
  Fd taken;
  bool truncated = false;
  if (recv_with_fd(sock, &byte, 1, taken, truncated) != 1 || !taken.valid()) return;
  // Only a descriptor open for writing replaces our own stderr.
  int fl = ::fcntl(taken.get(), F_GETFL);
  if (fl >= 0 && (fl & O_ACCMODE) != O_RDONLY) ::dup2(taken.get(), 2);
}

// One caller's session on conn (closed before returning); its code.
int one_session(const std::string& root, Fd conn, int own_stderr, int nothing) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(conn.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return qq::internal_bug;
  set_caller_uid(cred.uid);
  take_callers_stderr(conn.get());
  if (::dup2(conn.get(), 0) != 0 || ::dup2(conn.get(), 1) != 1) return qq::internal_bug;
  conn = Fd();
  // control/ as this session finds it at its start, as smtpd reads it for its own.
  const Control control = Control::read_once(root);
  uint64_t databytes = 0;
  int code = read_databytes(control, databytes) ? run_session(root, databytes, control) : qq::config_error;
  // The caller sees its end of the connection now, not at our next session.
  alarm(0);
  if (::dup2(nothing, 0) != 0 || ::dup2(nothing, 1) != 1 || ::dup2(own_stderr, 2) != 2) return qq::internal_bug;
  return code;
}

}  // namespace

[[noreturn]] void serve_callers(const std::string& root, Fd conn, Fd link) {
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGCHLD, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // Ours (supervise's log) between sessions; /dev/null on 0 and 1 between them.
  Fd own_stderr(::fcntl(2, F_DUPFD_CLOEXEC, 3));
  Fd nothing(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!own_stderr.valid() || !nothing.valid()) _exit(qq::internal_bug);
  for (unsigned served = 1;; ++served) {
    int code = one_session(root, std::move(conn), own_stderr.get(), nothing.get());
    if (code != 0 || served >= sessions_per_child) _exit(code);
    // Ready for another: the parent hands one only to a child that said so, and
    // closes the link to retire it (EOF here) or when it stops.
    if (::send(link.get(), "i", 1, MSG_NOSIGNAL) != 1) _exit(0);
    char byte;
    bool truncated = false;
    if (recv_with_fd(link.get(), &byte, 1, conn, truncated) != 1 || !conn.valid()) _exit(0);
  }
}

}  // namespace quail::queue_inject
