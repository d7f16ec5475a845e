// local-spawn: the delivery fork server. It starts the scheduler (queue-send) on
// a socket pair and runs each local delivery it asks for in a forked child that
// runs local-deliver's code -- no exec per delivery. As root with a user, the
// scheduler runs as that user and each delivery as its recipient; with "-" no uid
// changes, and the scheduler takes local-spawn's place. See man/local-spawn.8.
#include <cstdlib>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

#include "delivery_terms.hpp"
#include "identity.hpp"
#include "log.hpp"
#include "program.hpp"
#include "root.hpp"
#include "scheduler_start.hpp"
#include "server.hpp"

namespace {

constexpr int exit_usage = 100;
constexpr int exit_temporary = 111;

int fatal(int code, const std::string& reason) {
  quail::log_error({{"event", "fatal"}, {"reason", reason}});
  return code;
}

// user "-": the scheduler replaces local-spawn (so the service's pid is the
// scheduler's) after the fork server is split off as its child.
int serve_as_myself(quail::Fd sock, quail::Fd peer, quail::ServerSettings settings, char** scheduler_argv) {
  pid_t scheduler = ::getpid();
  pid_t server = ::fork();
  if (server < 0) return fatal(exit_temporary, "unable to fork the server");
  if (server > 0) {
    sock.reset();
    auto e = quail::exec_scheduler(peer.get(), scheduler_argv);
    return fatal(exit_temporary, e.reason);  // the server sees the socket close and ends
  }
  peer.reset();
  quail::drop_ready_fd();
  if (auto s = quail::Server::install_signals(false); !s) _exit(fatal(exit_temporary, s.error().reason));
  quail::log_info({{"event", "start"}, {"scheduler", scheduler}, {"user", "-"}});
  int code = quail::Server(std::move(sock), std::move(settings)).run();
  quail::log_info({{"event", "stop"}});
  _exit(code);
}

// root with a user: the scheduler runs as that user, as our child; we keep root.
int serve_as_root(const char* user_name, quail::Fd sock, quail::Fd peer, quail::ServerSettings settings,
                  char** scheduler_argv) {
  if (::geteuid() != 0) return fatal(exit_usage, "local-spawn must start as root to switch users (or be given -)");
  auto user = quail::identity_of(user_name);
  if (!user || user->uid == 0) return fatal(exit_usage, std::string("no such unprivileged user: ") + user_name);
  if (auto s = quail::Server::install_signals(true); !s) return fatal(exit_temporary, s.error().reason);
  auto scheduler = quail::start_scheduler(*user, peer.get(), scheduler_argv);
  if (!scheduler) return fatal(exit_temporary, scheduler.error().reason);
  peer.reset();
  quail::drop_ready_fd();  // the scheduler reports readiness
  quail::log_info({{"event", "start"}, {"scheduler", *scheduler}, {"user", user_name}});
  settings.scheduler = *scheduler;
  int status = quail::Server(std::move(sock), std::move(settings)).run();
  quail::log_info({{"event", "stop"}, {"status", status}});
  return status;
}

}  // namespace

// local-spawn user|- scheduler [arg ...]
int main(int argc, char** argv) {
  return quail::run_main("local-spawn", {exit_temporary, exit_temporary}, [&] {
    if (argc < 3) {
      quail::log_error({{"event", "usage"}, {"reason", "usage: local-spawn user|- scheduler [arg ...]"}});
      return exit_usage;
    }
    bool as_myself = std::string(argv[1]) == "-";
    quail::ServerSettings settings;
    settings.root = quail::resolve_root(nullptr);
    settings.switching_users = !as_myself;
    settings.env = quail::delivery_environment(settings.root, !as_myself, std::getenv("PATH"), std::getenv("QUEUE_PROGRAM"));
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
      return fatal(exit_temporary, "unable to create the spawner socket");
    }
    quail::Fd sock(sv[0]), peer(sv[1]);
    if (as_myself) return serve_as_myself(std::move(sock), std::move(peer), std::move(settings), argv + 2);
    return serve_as_root(argv[1], std::move(sock), std::move(peer), std::move(settings), argv + 2);
  });
}
