// The resident injector's session processes, as its parent keeps them
// (resident_children.cpp) and as each one runs (resident_child.cpp). A child is
// forked for a caller when none is idle, serves up to sessions_per_child
// sessions one after another, says "i" on its link each time it is free again,
// and is retired (its link closed) after idle_ns without a caller.
#pragma once
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <poll.h>
#include <vector>

#include "fd.hpp"

namespace quail::queue_inject {

// Postfix's cleanup default (max_use): bounds what one process's heap carries.
constexpr unsigned sessions_per_child = 100;
// Reuse matters only under load; a quiet server keeps no idle processes.
constexpr int64_t idle_ns = 10'000'000'000;

// The child's side: conn's session, then the parent's further callers. Never returns.
[[noreturn]] void serve_callers(const std::string& root, Fd conn, Fd link);

class SessionChildren {
 public:
  // Gives conn's caller to the child that was idle last, else forks one for it.
  // False when no child could be forked (conn is closed: the caller's first
  // answer is EOF, a temporary failure of its message).
  bool hand(const std::string& root, int listener, Fd conn);
  // The children's links, for poll after the listener's slot.
  void add_polls(std::vector<pollfd>& polls) const;
  // Reads what polled ready (from polls[first] on, in add_polls's order): a
  // child that is free again, or one whose link ended (it exited).
  void readable(const std::vector<pollfd>& polls, size_t first, int64_t now);
  // Retires the children idle since before now - idle_ns; the milliseconds
  // until the next one is due (-1: none idle), for poll's timeout.
  int retire_idle(int64_t now);
  // Closes every link: idle children exit at once, busy ones after their session.
  void release_all() { kids_.clear(); }
  size_t idle() const;

 private:
  struct Child {
    pid_t pid;
    Fd link;
    bool idle;
    int64_t idle_since;
  };
  bool give(Child& c, int conn);
  bool fork_for(const std::string& root, int listener, Fd conn);
  std::vector<Child> kids_;
};

}  // namespace quail::queue_inject
