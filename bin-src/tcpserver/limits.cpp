// The limits on connections at once (-c, -C, -n) and what happens at them: see
// server.hpp and man/tcpserver.8 ("Limits and load").
#include <algorithm>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "log.hpp"
#include "server.hpp"

namespace quail::tcpserver {
namespace {

struct TcpState {
  bool open = true;       // ESTABLISHED: the client has sent neither FIN nor reset
  unsigned idle_ms = 0;   // since the last data segment received or sent
};

// What we cannot tell counts as open and busy. The kernel keeps our side
// ESTABLISHED until the client's FIN (CLOSE_WAIT) or reset (CLOSE): a client that
// read 221 and closed is gone, whether or not its session's process has exited.
TcpState tcp_state(int fd) {
  tcp_info ti{};
  socklen_t len = sizeof ti;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return {};
  return {ti.tcpi_state == TCP_ESTABLISHED, std::min(ti.tcpi_last_data_recv, ti.tcpi_last_data_sent)};
}

}  // namespace

long Server::open_connections(const std::string* key, bool by_net) const {
  long n = 0;
  for (const auto& [pid, session] : sessions_) {
    if (key && (by_net ? session.net : session.remote) != *key) continue;
    if (tcp_state(session.conn.get()).open) ++n;
  }
  return n;
}

bool Server::busy() const {
  // sessions_ counts processes, a little more than open connections: cheap, and
  // being told "busy" a little early only shortens a timeout.
  return 5 * static_cast<long>(sessions_.size() + 1) > 4 * opt_.max_sessions;
}

bool Server::evict_idlest(const Peer& newcomer) {
  // -i: a session gives its place to a newcomer only after this long without a
  // byte either way. A client in the middle of a command or a message is never
  // idle that long, one waiting for a slow reply of ours (a DNS list, a filter)
  // rarely, and it is closed only when every other session has been idle shorter.
  if (opt_.evict_idle_s <= 0) return false;
  const unsigned min_idle_ms = static_cast<unsigned>(opt_.evict_idle_s) * 1000;
  const std::pair<const pid_t, Session>* idlest = nullptr;
  unsigned longest = 0;
  for (const auto& entry : sessions_) {
    TcpState st = tcp_state(entry.second.conn.get());
    if (st.open && st.idle_ms >= min_idle_ms && st.idle_ms >= longest) {
      idlest = &entry;
      longest = st.idle_ms;
    }
  }
  if (!idlest) return false;
  int fd = idlest->second.conn.get();
  if (opt_.refusal) {
    // An idle session's program waits for input, so nothing of its own is half
    // written; a full send buffer (a client not reading) just skips the text.
    std::string text = *opt_.refusal + "\r\n";
    (void)::send(fd, text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  // On the socket itself, shared with the session: its program reads end of file
  // (and a write fails), the client gets our FIN, and the connection stops
  // counting at once; the process is reaped when it exits.
  ::shutdown(fd, SHUT_RDWR);
  log_warn({{"event", "evict"}, {"pid", idlest->first}, {"remote", idlest->second.remote}, {"idle_ms", longest},
            {"for", newcomer.text}, {"sessions", sessions_.size()}});
  return true;
}

bool Server::over_limit(const Peer& remote, int conn) {
  // The limits count connections the clients still hold open, not processes: a
  // client that reconnects as soon as it reads 221 is here before its old
  // session's process has exited (smtpd still finishing) or been reaped, and a
  // client that never holds more than N connections must never be refused by a
  // limit of N. Processes whose clients have gone are bounded apart, at twice
  // -c, so clients that hang up at once cannot pile up sessions without end.
  // Counting walks the sessions, so it is done only when the cheap process
  // counts reach a limit; ended sessions are reaped first.
  auto count = [](const std::unordered_map<std::string, long>& m, const std::string& key) {
    auto it = m.find(key);
    return it == m.end() ? 0L : it->second;
  };
  const long processes_at_start = static_cast<long>(sessions_.size());
  const bool ip_full = opt_.max_per_ip > 0 && count(per_ip_, remote.text) >= opt_.max_per_ip;
  const bool net_full = opt_.max_per_net > 0 && count(per_net_, remote.net) >= opt_.max_per_net;
  if (processes_at_start >= opt_.max_sessions || ip_full || net_full) reap();
  auto processes = [&] { return static_cast<long>(sessions_.size()); };
  const char* which = nullptr;
  // The client's own limits first: a client over them must not close another's session.
  if (processes() >= 2 * opt_.max_sessions) {
    which = "total";
  } else if (opt_.max_per_ip > 0 && count(per_ip_, remote.text) >= opt_.max_per_ip &&
             open_connections(&remote.text, false) >= opt_.max_per_ip) {
    which = "perip";
  } else if (opt_.max_per_net > 0 && count(per_net_, remote.net) >= opt_.max_per_net &&
             open_connections(&remote.net, true) >= opt_.max_per_net) {
    which = "pernet";
  } else if (processes() >= opt_.max_sessions && open_connections(nullptr, false) >= opt_.max_sessions &&
             !evict_idlest(remote)) {
    which = "total";
  }
  if (!which) return false;
  if (opt_.refusal) {
    // The send buffer of a new connection is empty: this never blocks the loop.
    std::string text = *opt_.refusal + "\r\n";
    (void)::send(conn, text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  log_warn({{"event", "refused"}, {"remote", remote.text}, {"reason", "limit"}, {"limit", which},
            {"sessions", sessions_.size()}});
  return true;
}

}  // namespace quail::tcpserver
