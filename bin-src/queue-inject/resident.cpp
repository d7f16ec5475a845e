// queue-inject -d: the resident injector of a system install (man/queue-inject.8,
// "Resident mode"). smtpd runs as quail-smtpd and the queue belongs to
// quail-queue, so each SMTP session used to exec the set-uid queue-inject: an
// exec of a set-uid program, about 0.5 ms of CPU per connection on a machine
// whose whole connection costs 2 (bench/README.md). Here one queue-inject,
// started as root under supervise, binds ROOT/run/queue-inject.sock (only
// quail-smtpd's group may connect), becomes the owner of the set-uid copy, and
// hands each connection to a session process (resident_children.hpp): an idle
// one, else one forked for it. The session process speaks the session protocol
// (-s) on the socket; the parent never reads a caller's byte.
//
// The children share the parent's address layout. A child that dies of a
// signal may be someone probing that layout, so the parent then exits and
// supervise starts a fresh one (a fresh layout); its children go with their
// links, and smtpd execs queue-inject while the socket is not answered.
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <string>
#include <vector>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.hpp"
#include "fd.hpp"
#include "identity.hpp"
#include "inject_client.hpp"
#include "log.hpp"
#include "modes.hpp"
#include "passwd_file.hpp"
#include "queue_exit.hpp"
#include "resident_children.hpp"
#include "root.hpp"
#include "service.hpp"
#include "unix_connect.hpp"

namespace quail::queue_inject {
namespace {

constexpr int backlog = 128;
volatile sig_atomic_t stopping = 0;

void on_term(int) { stopping = 1; }
void on_child(int) {}

int refuse_start(const std::string& why) {
  log_error({{"event", "refused"}, {"reason", why}});
  return qq::config_error;
}

int64_t monotonic_ns() {
  timespec t;
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

// Takes one caller from the backlog and hands it to a child; false when none
// was there.
bool take_caller(const std::string& root, int listener, SessionChildren& children, unsigned long& sessions) {
  Fd conn(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn.valid()) return false;  // the caller went, or EMFILE: its connect fails over to the exec
  children.hand(root, listener, std::move(conn));
  ++sessions;
  return true;
}

// Reaps finished children; died_of: the signal of the first that died of one.
void reap(int& died_of) {
  int w;
  pid_t pid;
  while ((pid = ::waitpid(-1, &w, WNOHANG)) > 0) {
    if (WIFSIGNALED(w) && died_of == 0) {
      died_of = WTERMSIG(w);
      log_error({{"event", "child-signaled"}, {"pid", pid}, {"signal", died_of}});
    }
  }
}

}  // namespace

int run_resident(const std::string& root) {
  // bin/queue-inject is the set-uid copy: root's exec of it runs as its owner with
  // a real uid of 0, which seteuid may take back; anyone else's real uid is not 0.
  if (::getuid() != 0 || (::geteuid() != 0 && ::seteuid(0) != 0)) {
    return refuse_start("the resident injector (-d) is started by root (quail up)");
  }
  auto system = Control(root).integer("system");
  if (!system) return refuse_start(system.error().reason);
  if (*system != 1) return refuse_start("the resident injector (-d) serves a system install (control/system)");
  // The ids a set-uid exec of bin/queue-inject would give: its owner's.
  const std::string self = bin_dir(root) + "/queue-inject";
  struct stat st;
  if (::stat(self.c_str(), &st) != 0) return refuse_start("unable to stat " + self + ": " + std::strerror(errno));
  if (!(st.st_mode & S_ISUID) || st.st_uid == 0) return refuse_start(self + " is not the set-uid copy quail init --system installs");
  auto owner = passwd_by_uid(st.st_uid);
  if (!owner || !*owner) return refuse_start("the owner of " + self + " is not in /etc/passwd");
  auto smtpd = passwd_by_name("quail-smtpd");
  if (!smtpd || !*smtpd) return refuse_start("no quail-smtpd user: rerun quail init --system");

  const std::string path = inject_socket_path(root);
  // Made 0600 and root's, then given to quail-smtpd's group: never connectable by others.
  auto bound = bind_unix_private(path);
  if (!bound) return refuse_start(bound.error().reason);
  Fd listener = std::move(*bound);
  if (::chown(path.c_str(), (*owner)->uid, (*smtpd)->gid) != 0 || ::chmod(path.c_str(), 0660) != 0) {
    return refuse_start("unable to give " + path + " to quail-smtpd's group: " + std::strerror(errno));
  }
  if (::listen(listener.get(), backlog) != 0) return refuse_start(std::string("listen: ") + std::strerror(errno));
  if (!become(Identity{(*owner)->uid, (*owner)->gid, (*owner)->name})) {
    return refuse_start("unable to become " + (*owner)->name);
  }
  ::umask(027);

  struct sigaction sa{};
  sa.sa_handler = on_term;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  // A child's end wakes us (SIGCHLD, only inside ppoll): a crash is known at
  // once, not when the next caller is already in our backlog.
  sa.sa_handler = on_child;
  ::sigaction(SIGCHLD, &sa, nullptr);
  sigset_t blocked, waiting;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGCHLD);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  ::sigprocmask(SIG_BLOCK, &blocked, &waiting);
  sigdelset(&waiting, SIGCHLD);
  sigdelset(&waiting, SIGTERM);
  sigdelset(&waiting, SIGINT);

  // What the start allocated (/etc/passwd read whole) goes back, so a child's
  // heap starts on fresh pages rather than copies of ours.
  ::malloc_trim(0);
  log_info({{"event", "started"}, {"socket", path}, {"uid", (*owner)->uid}});
  signal_service_ready();
  unsigned long sessions = 0;
  int died_of = 0;
  SessionChildren children;
  std::vector<pollfd> polls;
  for (;;) {
    reap(died_of);
    if (died_of != 0) {
      // Exit, not re-fork: the next child must not share this layout. The idle
      // children go with their links.
      log_error({{"event", "exiting"}, {"reason", "a session process died of signal " + std::to_string(died_of) +
                                                      "; a fresh start gets a fresh address layout"},
                 {"sessions", sessions}});
      return qq::internal_bug;
    }
    if (stopping) break;
    int wait_ms = children.retire_idle(monotonic_ns());
    polls.assign(1, pollfd{listener.get(), POLLIN, 0});
    children.add_polls(polls);
    timespec wait{wait_ms / 1000, (wait_ms % 1000) * 1'000'000L};
    int r = ::ppoll(polls.data(), polls.size(), wait_ms < 0 ? nullptr : &wait, &waiting);
    if (r < 0 && errno != EINTR) return refuse_start(std::string("poll: ") + std::strerror(errno));
    if (r <= 0) continue;
    // Children free again first: the caller waiting goes to one of them.
    children.readable(polls, 1, monotonic_ns());
    // Reaped between the wake-up and the fork: a child that crashed before now
    // stops us before another shares its layout.
    reap(died_of);
    if (died_of == 0 && polls[0].revents != 0) take_caller(root, listener.get(), children, sessions);
  }
  // Callers already in the backlog would see it reset when the socket closes:
  // each still gets a child (a stop is not a crash), the rest of them their exec.
  ::fcntl(listener.get(), F_SETFL, O_NONBLOCK);
  for (;;) {
    reap(died_of);
    if (died_of != 0 || !take_caller(root, listener.get(), children, sessions)) break;
  }
  children.release_all();
  // Sessions under way finish on their own: each ends with its caller's EOF.
  log_info({{"event", "stopped"}, {"sessions", sessions}});
  return 0;
}

}  // namespace quail::queue_inject
