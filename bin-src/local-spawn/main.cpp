// local-spawn: the one root process of a system install. It starts the scheduler
// (queue-send) as its own user on a socket pair, then runs each local delivery
// queue-send asks for as the recipient's user. See man/local-spawn.8.
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local_lookup.hpp"
#include "log.hpp"
#include "lspawn.hpp"
#include "program.hpp"
#include "root.hpp"
#include "spawner.hpp"

namespace {

volatile sig_atomic_t g_forward = 0;  // a signal to pass on to the scheduler
int g_signal_pipe = -1;

void on_signal(int sig) {
  g_forward = sig;
  int saved = errno;
  (void)!::write(g_signal_pipe, "", 1);
  errno = saved;
}

// Starts the scheduler as `user` with its end of the socket on fd 3.
pid_t start_scheduler(const quail::Identity& user, int sock, char** argv) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  if (::dup2(sock, 3) < 0 || !quail::become(user)) _exit(111);
  ::setenv("QUAIL_LSPAWN_FD", "3", 1);
  ::execv(argv[0], argv);
  _exit(111);
}

int serve(const char* user_name, char** scheduler_argv) {
  if (::geteuid() != 0) {
    quail::log_error({{"event", "fatal"}, {"reason", "local-spawn must start as root"}});
    return 100;
  }
  auto user = quail::identity_of(user_name);
  if (!user || user->uid == 0) {
    quail::log_error({{"event", "fatal"}, {"reason", std::string("no such unprivileged user: ") + user_name}});
    return 100;
  }
  std::string root = quail::resolve_root(nullptr);
  auto cfg = quail::load_local_config(root);
  if (!cfg) {
    quail::log_error({{"event", "fatal"}, {"reason", cfg.error().reason}});
    return 111;
  }
  int sv[2], sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0 || ::pipe2(sp, O_CLOEXEC | O_NONBLOCK) != 0) {
    quail::log_error({{"event", "fatal"}, {"reason", "unable to create the spawner socket"}});
    return 111;
  }
  quail::Fd sock(sv[0]), peer(sv[1]), sig_read(sp[0]);
  g_signal_pipe = sp[1];
  for (int s : {SIGTERM, SIGHUP, SIGINT, SIGCHLD}) std::signal(s, on_signal);

  pid_t scheduler = start_scheduler(*user, peer.get(), scheduler_argv);
  if (scheduler < 0) return 111;
  peer.reset();
  if (const char* ready = std::getenv("QUAIL_READY_FD")) ::close(std::atoi(ready));  // the scheduler reports readiness
  quail::log_info({{"event", "start"}, {"scheduler", scheduler}, {"user", user_name}});

  int scheduler_status = 111;
  bool scheduler_running = true;
  while (scheduler_running) {
    pollfd fds[2] = {{sock.get(), POLLIN, 0}, {sig_read.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[1].revents) {
      char drain[64];
      while (::read(sig_read.get(), drain, sizeof drain) > 0) {
      }
      if (g_forward == SIGTERM || g_forward == SIGHUP || g_forward == SIGINT) {
        if (g_forward == SIGHUP) {
          if (auto c = quail::load_local_config(root)) *cfg = std::move(*c);
        }
        ::kill(scheduler, g_forward);
      }
      g_forward = 0;
      int w;
      pid_t p;
      while ((p = ::waitpid(-1, &w, WNOHANG)) > 0) {
        if (p == scheduler) {
          scheduler_running = false;
          scheduler_status = WIFEXITED(w) ? WEXITSTATUS(w) : 111;
        }
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      quail::Fd msg;
      auto req = quail::recv_request(sock.get(), msg);
      if (!req) {
        if (req.error().kind == quail::ErrorKind::not_found) continue;  // the scheduler is exiting; wait for it
        quail::log_warn({{"event", "bad-request"}, {"reason", req.error().reason}});
        continue;
      }
      // One child per delivery, so a slow mailbox never holds up the others.
      pid_t worker = ::fork();
      if (worker == 0) {
        auto reply = quail::deliver_as_recipient(*cfg, *req, msg.get());
        quail::send_reply(sock.get(), reply);
        _exit(0);
      }
      if (worker < 0) quail::send_reply(sock.get(), {req->dlv, 111, "unable to fork (#4.3.0)"});
    }
  }
  quail::log_info({{"event", "stop"}, {"status", scheduler_status}});
  return scheduler_status;
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("local-spawn", {111, 111}, [&] {
    if (argc < 3) {
      quail::log_error({{"event", "usage"}, {"reason", "usage: local-spawn user scheduler [arg ...]"}});
      return 100;
    }
    return serve(argv[1], argv + 2);
  });
}
