// The parent's side of the session processes: see resident_children.hpp. The
// parent never reads a caller's byte; from a child it reads only "i" (free
// again) and the end of its link.
#include "resident_children.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

#include "fd_passing.hpp"
#include "log.hpp"

namespace quail::queue_inject {

bool SessionChildren::give(Child& c, int conn) {
  c.idle = false;
  // A child that exited since it said "i" is gone: EPIPE, and its link ends.
  return send_with_fd(c.link.get(), "c", conn, MSG_NOSIGNAL) == 1;
}

bool SessionChildren::fork_for(const std::string& root, int listener, Fd conn) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    log_warn({{"event", "fork-failed"}, {"reason", std::string("socketpair: ") + std::strerror(errno)}});
    return false;
  }
  Fd ours(pair[0]), theirs(pair[1]);
  pid_t pid = ::fork();
  if (pid == 0) {
    // Nothing of the parent's but the child's own link: no sibling's link (its
    // end would then never see EOF), no listener.
    kids_.clear();
    ::close(listener);
    ours = Fd();
    serve_callers(root, std::move(conn), std::move(theirs));
  }
  if (pid < 0) {
    log_warn({{"event", "fork-failed"}, {"reason", std::strerror(errno)}});
    return false;
  }
  kids_.push_back(Child{pid, std::move(ours), false, 0});
  return true;
}

bool SessionChildren::hand(const std::string& root, int listener, Fd conn) {
  for (;;) {
    auto last = kids_.end();
    for (auto it = kids_.begin(); it != kids_.end(); ++it) {
      if (it->idle && (last == kids_.end() || it->idle_since >= last->idle_since)) last = it;
    }
    if (last == kids_.end()) return fork_for(root, listener, std::move(conn));
    if (give(*last, conn.get())) return true;
    kids_.erase(last);
  }
}

void SessionChildren::add_polls(std::vector<pollfd>& polls) const {
  for (const Child& c : kids_) polls.push_back(pollfd{c.link.get(), POLLIN, 0});
}

void SessionChildren::readable(const std::vector<pollfd>& polls, size_t first, int64_t now) {
  // kids_ has not changed since add_polls: slot first + i is kids_[i]. From the
  // back, so an erased child moves none still to be read.
  for (size_t i = std::min(kids_.size(), polls.size() - std::min(first, polls.size())); i-- > 0;) {
    if (polls[first + i].revents == 0) continue;
    char buf[16];
    ssize_t n = ::recv(kids_[i].link.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    // Only "i" is spoken; anything else is a child we no longer trust to be free.
    if (n > 0 && std::all_of(buf, buf + n, [](char b) { return b == 'i'; })) {
      kids_[i].idle = true;
      kids_[i].idle_since = now;
    } else {
      kids_.erase(kids_.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
}

int SessionChildren::retire_idle(int64_t now) {
  std::erase_if(kids_, [&](const Child& c) { return c.idle && now - c.idle_since >= idle_ns; });
  int64_t next = -1;
  for (const Child& c : kids_) {
    if (!c.idle) continue;
    int64_t left = c.idle_since + idle_ns - now;
    if (next < 0 || left < next) next = left;
  }
  return next < 0 ? -1 : static_cast<int>(next / 1'000'000 + 1);
}

size_t SessionChildren::idle() const {
  return static_cast<size_t>(std::count_if(kids_.begin(), kids_.end(), [](const Child& c) { return c.idle; }));
}

}  // namespace quail::queue_inject
