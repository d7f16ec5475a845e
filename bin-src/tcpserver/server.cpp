// The accept loop: see server.hpp.
#include "server.hpp"

#include <cerrno>
#include <csignal>
#include <ctime>
#include <netinet/in.h>
#include <poll.h>
#include <string_view>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "clock.hpp"
#include "log.hpp"
#include "spawn.hpp"
#include "spawn_session.hpp"

extern char** environ;

namespace quail::tcpserver {
namespace {

constexpr int accepts_per_wake = 64;  // then look at signals (and ended sessions) again
constexpr int accept_pause_ms = 100;  // out of fds or memory: let sessions end first
constexpr int fork_server_pause_ms = 1000;  // a fork server that failed: exec meanwhile

// Set by tcpserver for each session, or meant for tcpserver alone: never passed on
// from our own environment, so a stale TCPREMOTEHOST cannot reach a session.
bool set_per_session(std::string_view entry) {
  static constexpr std::string_view names[] = {
      "PROTO",         "TCPLOCALIP",     "TCPLOCALPORT",   "TCPLOCALHOST",   "TCPREMOTEIP",   "TCPREMOTEPORT",
      "TCPREMOTEHOST", "TCPREMOTEINFO",  "TCP6LOCALIP",    "TCP6LOCALPORT",  "TCP6LOCALHOST", "TCP6REMOTEIP",
      "TCP6REMOTEPORT", "TCP6REMOTEHOST", "TCP6REMOTEINFO", "QUAIL_READY_FD", "LISTEN_PID",    "LISTEN_FDS",
      "LISTEN_FDNAMES", "TCPBUSY",      "QUAIL_FORK_SERVER"};
  std::string_view name = entry.substr(0, entry.find('='));
  for (auto n : names) {
    if (n == name) return true;
  }
  return false;
}

// Replaces (or adds) name=value: glibc's getenv returns the first of duplicates.
void set_var(std::vector<std::string>& env, std::string_view name, std::string_view value) {
  std::erase_if(env, [&](const std::string& e) {
    return e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=';
  });
  env.push_back(std::string(name) + "=" + std::string(value));
}

}  // namespace

Result<Fd> block_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return sys_error(ErrorKind::temporary, "block signals");
  Fd fd(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd.valid()) return sys_error(ErrorKind::temporary, "create a signalfd");
  return fd;
}

Server::Server(const Options& opt, Listener listener, Fd signals, std::string program_path)
    : opt_(opt), listener_(std::move(listener)), signals_(std::move(signals)), argv_(opt.program) {
  argv_[0] = std::move(program_path);
  for (char** e = environ; *e; ++e) {
    if (!set_per_session(*e)) base_env_.emplace_back(*e);
  }
  // A fork server's sessions become ours when it exits before them: reaped here,
  // like every session, instead of by init.
  if (opt_.fork_server) ::prctl(PR_SET_CHILD_SUBREAPER, 1);
}

int Server::run() {
  log_info({{"event", "listen"}, {"local", ip_text(listener_.local)}, {"port", listener_.port},
            {"inherited", listener_.inherited ? "yes" : "no"}, {"limit", opt_.max_sessions},
            {"perip", opt_.max_per_ip}, {"pernet", opt_.max_per_net}, {"idle", opt_.evict_idle_s}, {"backlog", opt_.backlog}, {"rules", opt_.rules}, {"program", argv_[0]}});
  std::vector<pollfd> fds;
  while (!exit_now_ && !(stopping_ && sessions_.empty())) {
    fds.assign({{signals_.get(), POLLIN, 0}, {-1, POLLIN, 0}});
    int timeout = -1;
    if (listener_.fd.valid()) {
      long long pause = accept_pause_until_ms_ - monotonic_ms();
      if (pause > 0) timeout = static_cast<int>(pause);
      else fds[1].fd = listener_.fd.get();
    }
    if (forks_) fds.push_back({forks_->fd(), POLLIN, 0});
    for (const auto& f : retiring_) fds.push_back({f.fd(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), timeout) < 0) {
      if (errno == EINTR) continue;
      log_error({{"event", "fatal"}, {"reason", sys_error(ErrorKind::temporary, "poll").reason}});
      return exit_trouble;
    }
    if (fds[0].revents & POLLIN) read_signals();
    read_fork_servers(fds, 2);
    if (fds[1].fd >= 0 && listener_.fd.valid() && fds[1].revents) accept_some();
  }
  log_info({{"event", "exit"}, {"sessions", sessions_.size()}});
  return 0;
}

void Server::read_signals() {
  signalfd_siginfo si;
  bool child = false;
  while (::read(signals_.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    if (si.ssi_signo == SIGCHLD) {
      child = true;
    } else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
      // The first asks for a graceful stop; a second one means "now": the
      // sessions are separate processes and simply run on without us.
      if (stopping_) exit_now_ = true;
      stopping_ = true;
      stop_listening();
      log_info({{"event", "stop"}, {"signal", si.ssi_signo == SIGTERM ? "TERM" : "INT"},
                {"sessions", sessions_.size()}, {"wait", exit_now_ ? "no" : "yes"}});
    }
    // SIGHUP: the rules cdb is opened for every connection; a fork server (-F)
    // is retired, so the next session runs the program as installed now.
    if (si.ssi_signo == SIGHUP && forks_) {
      log_info({{"event", "fork_server_retired"}, {"pid", forks_->pid()}, {"signal", "HUP"}});
      retire_fork_server();
    }
  }
  if (child) reap();
}

void Server::reap() {
  for (;;) {
    int status;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    if (forks_ && pid == forks_->pid()) {
      log_warn({{"event", "fork_server_exit"}, {"pid", pid}, {"status", decode_status(status).code}});
    }
    end_session(pid, status);
  }
}

void Server::end_session(pid_t pid, int status) {
  auto it = sessions_.find(pid);
  if (it == sessions_.end()) return;
  ExitStatus es = decode_status(status);
  if (es.signaled) {
    log_info({{"event", "end"}, {"pid", pid}, {"remote", it->second.remote}, {"signal", es.code}});
  } else {
    log_info({{"event", "end"}, {"pid", pid}, {"remote", it->second.remote}, {"status", es.code}});
  }
  if (auto p = per_ip_.find(it->second.remote); p != per_ip_.end() && --p->second <= 0) per_ip_.erase(p);
  if (auto p = per_net_.find(it->second.net); p != per_net_.end() && --p->second <= 0) per_net_.erase(p);
  // A session that crashed may be someone probing the address layout its fork
  // server gives every session: the next ones get a fresh server.
  if (it->second.forker != 0 && crashed(status) && forks_ && forks_->pid() == it->second.forker) {
    log_warn({{"event", "fork_server_retired"}, {"pid", it->second.forker}, {"session", pid}, {"signal", es.code}});
    retire_fork_server();
  }
  sessions_.erase(it);
}

void Server::retire_fork_server() {
  forks_->stop();
  retiring_.push_back(std::move(*forks_));
  forks_.reset();
}

void Server::read_fork_servers(const std::vector<pollfd>& fds, size_t first) {
  // Matched by descriptor, not by place: a signal read just before may have
  // retired the current server into retiring_. Collected first, since a report
  // may retire the current one too.
  auto ready = [&](const ForkServer& f) {
    for (size_t i = first; i < fds.size(); ++i) {
      if (fds[i].fd == f.fd()) return fds[i].revents != 0;
    }
    return false;
  };
  std::vector<ForkServer::Ended> ended;
  std::vector<pid_t> gone;
  if (forks_ && ready(*forks_) && !forks_->read_ended(ended)) gone.push_back(forks_->pid());
  for (auto& f : retiring_) {
    if (ready(f) && !f.read_ended(ended)) gone.push_back(f.pid());
  }
  for (const auto& e : ended) end_session(e.pid, e.status);
  for (pid_t g : gone) {
    if (forks_ && forks_->pid() == g) {
      fork_server_gone(*forks_);
      forks_.reset();
    }
    std::erase_if(retiring_, [&](const ForkServer& f) {
      if (f.pid() != g) return false;
      fork_server_gone(f);
      return true;
    });
  }
}

void Server::fork_server_gone(const ForkServer& f) {
  std::vector<pid_t> unreported;
  for (const auto& [pid, s] : sessions_) {
    if (s.forker == f.pid() && ::kill(pid, 0) != 0 && errno == ESRCH) unreported.push_back(pid);
  }
  for (pid_t pid : unreported) end_session(pid, 0);
}

void Server::accept_some() {
  for (int i = 0; i < accepts_per_wake && listener_.fd.valid(); ++i) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int c = ::accept4(listener_.fd.get(), reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC);
    if (c < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      // A connection that died before we took it, or a network error pending on it
      // (accept(2), "Error handling"): the next one is fine.
      if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == ENETDOWN || err == ENOPROTOOPT ||
          err == EHOSTDOWN || err == ENONET || err == EHOSTUNREACH || err == EOPNOTSUPP || err == ENETUNREACH) {
        continue;
      }
      // Out of fds or memory (or a bug): pause instead of spinning on a full queue.
      log_warn({{"event", "accept_failed"}, {"reason", sys_error(ErrorKind::temporary, "accept", err).reason}});
      accept_pause_until_ms_ = monotonic_ms() + accept_pause_ms;
      return;
    }
    Fd conn(c);
    Peer remote;
    auto ip = ip_from_sockaddr(reinterpret_cast<sockaddr*>(&ss), &remote.port);
    if (!ip) continue;
    remote.ip = *ip;
    remote.text = ip_text(*ip);
    remote.net = ip_network(*ip);
    serve(std::move(conn), remote);
  }
}

void Server::serve(Fd conn, const Peer& remote) {
  Rule rule;
  if (!apply_rules(remote, rule)) return;
  if (over_limit(remote, conn.get())) return;

  Peer local;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  std::optional<IpAddress> ip;
  if (::getsockname(conn.get(), reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    ip = ip_from_sockaddr(reinterpret_cast<sockaddr*>(&ss), &local.port);
  }
  if (!ip) {
    ip = listener_.local;
    local.port = listener_.port;
  }
  local.ip = *ip;
  local.text = ip_text(*ip);

  std::vector<std::string> env = session_env(remote, local, rule);
  if (busy()) set_var(env, "TCPBUSY", "1");
  pid_t forker = 0;
  auto pid = start_session(env, conn.get(), forker);
  if (!pid) {
    log_error({{"event", "spawn_failed"}, {"remote", remote.text}, {"reason", pid.error().reason}});
    return;
  }
  sessions_.emplace(*pid, Session{remote.text, remote.net, std::move(conn), forker});
  ++per_ip_[remote.text];
  ++per_net_[remote.net];
  log_info({{"event", "connect"}, {"pid", *pid}, {"remote", remote.text}, {"remote_port", remote.port},
            {"local", local.text}, {"local_port", local.port}, {"sessions", sessions_.size()}});
}

Result<pid_t> Server::start_session(const std::vector<std::string>& env, int conn, pid_t& forker) {
  forker = 0;
  if (opt_.fork_server && !forks_ && monotonic_ms() >= fork_server_retry_ms_) {
    auto f = ForkServer::start(argv_, base_env_);
    if (f) {
      log_info({{"event", "fork_server"}, {"pid", f->pid()}});
      forks_.emplace(std::move(*f));
    } else {
      log_warn({{"event", "fork_server_failed"}, {"reason", f.error().reason}});
      fork_server_retry_ms_ = monotonic_ms() + fork_server_pause_ms;
    }
  }
  if (forks_) {
    std::vector<ForkServer::Ended> ended;
    const pid_t server = forks_->pid();
    bool may_serve = false;
    auto pid = forks_->spawn(env, conn, ended, may_serve);
    for (const auto& e : ended) end_session(e.pid, e.status);
    if (pid) {
      forker = server;
      return pid;
    }
    log_warn({{"event", "fork_server_failed"}, {"pid", server}, {"reason", pid.error().reason}});
    if (forks_ && forks_->pid() == server) retire_fork_server();
    fork_server_retry_ms_ = monotonic_ms() + fork_server_pause_ms;
    // A child of the server may already serve this connection: a second program
    // on it would answer the client twice. It is closed here (the client sees the
    // end, or that child's replies); the next connection gets an exec, then a new server.
    if (may_serve) return Error{ErrorKind::temporary, "fork server: no answer to a request it received; connection left to it"};
  }
  return spawn_session(argv_, env, conn);
}

bool Server::apply_rules(const Peer& remote, Rule& rule) {
  if (opt_.rules.empty()) return true;
  auto m = match_rules_file(opt_.rules, remote.ip);
  if (!m) {
    if (m.error().kind == ErrorKind::not_found && opt_.rules_optional) return true;
    // As ucspi-tcp does: without readable rules nobody is let in, silently.
    log_error({{"event", "refused"}, {"remote", remote.text}, {"reason", m.error().reason}});
    return false;
  }
  if (!m->rule.allow) {
    log_info({{"event", "deny"}, {"remote", remote.text}, {"rule", m->key.empty() ? "default" : m->key}});
    return false;
  }
  rule = std::move(m->rule);
  return true;
}

std::vector<std::string> Server::session_env(const Peer& remote, const Peer& local, const Rule& rule) const {
  std::vector<std::string> env = base_env_;
  env.reserve(env.size() + 12 + rule.env.size());
  // UCSPI names the variables after $PROTO; for IPv6 the TCP* names are set too,
  // since most mail programs read only TCPREMOTEIP.
  env.push_back(remote.ip.v6 ? "PROTO=TCP6" : "PROTO=TCP");
  for (std::string_view p : {std::string_view("TCP"), std::string_view("TCP6")}) {
    if (p == "TCP6" && !remote.ip.v6) break;
    std::string prefix(p);
    env.push_back(prefix + "LOCALIP=" + local.text);
    env.push_back(prefix + "LOCALPORT=" + std::to_string(local.port));
    if (opt_.local_name) env.push_back(prefix + "LOCALHOST=" + *opt_.local_name);
    env.push_back(prefix + "REMOTEIP=" + remote.text);
    env.push_back(prefix + "REMOTEPORT=" + std::to_string(remote.port));
  }
  for (const auto& [name, value] : rule.env) set_var(env, name, value);
  return env;
}

void Server::stop_listening() { listener_.fd.reset(); }

}  // namespace quail::tcpserver
