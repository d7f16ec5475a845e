// local-spawn's loop: the scheduler's requests in, each to a delivery worker
// (single-user; switching users, one that is the request's user) or a forked
// delivery child, the reply sent when the child is reaped or the worker answers. Neither ever holds the
// scheduler's socket; the server keeps pid -> (dlv, reason pipe or socket). See man/local-spawn.8.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "child.hpp"
#include "fd.hpp"
#include "identity.hpp"
#include "lspawn.hpp"

namespace quail {

struct ServerSettings {
  std::string root;
  bool switching_users = false;   // root: each delivery becomes its recipient's user
  std::vector<std::string> env;   // every delivery's whole environment
  pid_t scheduler = -1;           // our child the scheduler (root), or -1: it is our parent
};

class Server {
 public:
  // Installs the signal handlers: SIGCHLD, and SIGTERM/SIGHUP/SIGINT passed on
  // to a scheduler child (ignored when the scheduler is our parent: it gets its
  // own). Call before the scheduler child is started.
  static Status install_signals(bool forward);

  // Call after install_signals: the children reset what differs from the defaults then.
  Server(Fd sock, ServerSettings s) : sock_(std::move(sock)), s_(std::move(s)), reset_signals_(signals_to_reset()) {}
  // Serves until the scheduler is gone: our child exited (returns its exit code,
  // 111 for a signal), or, when it is our parent, its socket closed (returns 0).
  // Deliveries still running then finish on their own; their replies are lost
  // and queue-send retries them (delivery is at least once).
  int run();

 private:
  struct Child {
    pid_t pid;
    uint64_t dlv;
    Fd reason;  // read end, non-blocking
  };
  struct Worker {
    pid_t pid;
    Fd ctl;             // our end of its socket pair; invalid once it closed
    uint64_t dlv = 0;   // the delivery it is running
    bool busy = false;
    // Switching users (server_uid_workers.cpp): the user it became, with these
    // groups, and the signature of control/srs/key it started under ("": retire
    // it, its groups changed). Unset in a single-user instance.
    std::optional<Identity> who;
    std::vector<gid_t> groups;
    std::string generation;
    long long idle_since_ms = 0;  // CLOCK_MONOTONIC, when it last answered
  };
  void on_request();
  void start(const LspawnRequest& req, int message_fd);
  void dispatch(const LspawnRequest& req, int message_fd, const Identity* who = nullptr);
  Status fork_worker(const Identity* who);
  // Switching users: a request the parent can route goes to a worker of its
  // user (false: a forked child delivers it, as without workers).
  bool dispatch_to_uid(const LspawnRequest& req, int message_fd);
  bool keep_idle(Worker& w);  // after its reply: false to let it end
  bool keep_idle_uid(Worker& w);
  void regroup_workers();     // /etc/group changed: retire those whose groups did
  void end_idle_workers();    // those idle too long, or of an old generation
  int idle_timeout_ms() const;
  void on_worker(pid_t pid);
  void worker_ended(size_t i, int wstatus);
  void stop_workers();
  void on_signals();
  void finish(Child& c, int wstatus);
  void reply(const LspawnReply& r);
  // Switching users: every home_table_refresh_seconds, a forked child (root)
  // brings users/homes.cdb up to date, so smtpd sees a .qmail-ext within seconds.
  void refresh_homes();
  int poll_timeout_ms() const;

  Fd sock_;
  ServerSettings s_;
  std::vector<Child> children_;
  std::vector<Worker> workers_;
  std::vector<int> reset_signals_;
  int scheduler_status_ = 111;
  pid_t refresher_ = -1;           // the home table's refresher while it runs
  long long next_refresh_ms_ = 0;  // CLOCK_MONOTONIC
  std::string generation_;         // control/srs/key's signature at the last routed request
  std::string group_signature_;    // /etc/group's
};

}  // namespace quail
