// The accept loop: one process, one thread. Per connection: rules, limits, then
// the program is spawned with the socket on fds 0 and 1 and the UCSPI environment.
// Signals arrive through a signalfd, so no handler runs. See man/tcpserver.8.
#pragma once
#include <optional>
#include <string>
#include <sys/types.h>
#include <poll.h>
#include <unordered_map>
#include <vector>

#include "fd.hpp"
#include "fork_server_client.hpp"
#include "listener.hpp"
#include "options.hpp"
#include "result.hpp"
#include "tcprules.hpp"

namespace quail::tcpserver {

// Blocks SIGCHLD, SIGTERM, SIGINT and SIGHUP and returns a signalfd for them.
// Called before listening, so no signal is lost before the loop starts.
Result<Fd> block_signals();

class Server {
 public:
  Server(const Options& opt, Listener listener, Fd signals, std::string program_path);
  // Serves until SIGTERM or SIGINT, then until the last session ends; the exit code.
  int run();

 private:
  struct Session {
    std::string remote;  // the client address as shown (also the per-address count's key)
    std::string net;     // its /24 or /64, the per-network count's key (ip_network)
    // Our copy of the connection, kept until the session is reaped: it tells
    // whether the client still holds the connection open (connection_open), so a
    // process that lingers after its client has gone does not count against -C/-c.
    Fd conn;
    pid_t forker = 0;  // the fork server (-F) whose child it is; 0: ours
  };
  struct Peer {
    IpAddress ip;
    uint16_t port = 0;
    std::string text;
    std::string net;
  };

  void read_signals();
  void reap();
  // A session's end: logged, its counts released; a crash retires its fork server.
  void end_session(pid_t pid, int status);
  // The session's process: from the fork server (*forker its pid) or an exec of ours.
  Result<pid_t> start_session(const std::vector<std::string>& env, int conn, pid_t& forker);
  // Reads the fork servers' reports (poll said which channels are ready).
  void read_fork_servers(const std::vector<pollfd>& fds, size_t first);
  // The server's channel ended (it exited): its sessions still running are our
  // children now (a subreaper's), those that ended unreported are released.
  void fork_server_gone(const ForkServer& f);
  void retire_fork_server();
  void accept_some();
  void serve(Fd conn, const Peer& remote);
  // The rule for remote; false when the connection is to be closed (deny, unreadable rules).
  bool apply_rules(const Peer& remote, Rule& rule);
  // limits.cpp: true when the connection is refused (and told so).
  bool over_limit(const Peer& remote, int conn);
  // Sessions whose client still holds its connection open: all of them (key
  // nullptr), or those whose remote (by_net false) or net equals *key.
  long open_connections(const std::string* key, bool by_net) const;
  // Closes the session idle longest, when one has been idle long enough to give
  // its place to a newcomer; false when none may be closed.
  bool evict_idlest(const Peer& newcomer);
  // Over 80 % of -c: the program is told (TCPBUSY=1) to use its shorter timeouts.
  bool busy() const;
  std::vector<std::string> session_env(const Peer& remote, const Peer& local, const Rule& rule) const;
  void stop_listening();

  const Options& opt_;
  Listener listener_;
  Fd signals_;
  std::vector<std::string> argv_;      // the program, argv[0] resolved to a path
  std::vector<std::string> base_env_;  // our environment minus what we set per session
  std::unordered_map<pid_t, Session> sessions_;
  std::unordered_map<std::string, long> per_ip_;
  std::unordered_map<std::string, long> per_net_;
  bool stopping_ = false;
  bool exit_now_ = false;
  long long accept_pause_until_ms_ = 0;  // after EMFILE and friends
  std::optional<ForkServer> forks_;      // -F: the fork server new sessions come from
  std::vector<ForkServer> retiring_;     // told to stop; their sessions still report
  long long fork_server_retry_ms_ = 0;   // after a start or a server that failed
};

}  // namespace quail::tcpserver
