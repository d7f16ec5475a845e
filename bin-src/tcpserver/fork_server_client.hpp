// tcpserver's side of -F (lib/fork_server.hpp): the program started once as a
// fork server, asked for each session, and told to stop when a session of its
// died of a signal that says "crash" (the next connections then get a fresh
// server, a fresh address layout: a crash cannot be repeated against one).
#pragma once
#include <string>
#include <sys/types.h>
#include <vector>

#include "fd.hpp"
#include "fork_server.hpp"
#include "result.hpp"

namespace quail::tcpserver {

class ForkServer {
 public:
  struct Ended {
    pid_t pid;
    int status;  // the wait status
  };
  // Starts argv (argv[0] a path) as a fork server with env and the channel on fds 0 and 1.
  static Result<ForkServer> start(const std::vector<std::string>& argv, std::vector<std::string> env);
  // A session for conn with env: its pid. Ends reported meanwhile go to *ended.
  // An error when the server could not fork or no longer answers: it is then of
  // no further use (stop() it). *may_serve: the request reached the server and
  // no answer said it forked nothing, so a child of it may already be serving
  // conn (the server died or hung after its fork): conn must not get another.
  Result<pid_t> spawn(const std::vector<std::string>& env, int conn, std::vector<Ended>& ended, bool& may_serve);
  // Reads the ends reported so far into *ended; false once the channel has ended
  // (the server exited: its sessions still running are now ours, see Server::reap).
  bool read_ended(std::vector<Ended>& ended);
  // Asks the server to fork no more and to exit after its last session.
  void stop();
  pid_t pid() const { return pid_; }
  int fd() const { return channel_.get(); }

 private:
  ForkServer(pid_t pid, Fd channel) : pid_(pid), channel_(std::move(channel)) {}
  bool take(const fork_server::Report& r, std::vector<Ended>& ended);
  pid_t pid_;
  Fd channel_;
};

// A wait status that means the session crashed (a fault, an abort), not that it
// was stopped from outside (TERM, KILL, HUP...).
bool crashed(int status);

}  // namespace quail::tcpserver
