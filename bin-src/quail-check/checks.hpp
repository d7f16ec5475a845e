// The queue invariants `quail check` verifies and how --repair restores each one.
// Normative list: queue-layout/README.md, "Invariants quail check verifies".
// Safe beside a running queue-send: a file is judged again just before it is touched.
#pragma once
#include <string>
#include <vector>

#include "result.hpp"

namespace quail::check {

enum class Kind {
  missing_dir,   // a queue directory is missing (repair: create it)
  bad_trigger,   // lock/trigger missing or not a FIFO (repair: make the FIFO)
  corrupt,       // todo/ or mess/ file that does not parse (repair: move to queue/corrupt/)
  misnamed,      // parses, but its name is not its inode number (repair: rename to it)
  duplicate,     // one id naming two different files in todo/ and mess/ (repair: refuses)
  orphan,        // stat/<id> without a queue file of the same birth (repair: remove)
  debris,        // tmp/ file whose writer is gone or is over 36 h old (repair: remove)
  unreadable,    // a file that could not be read at all (no repair: an I/O problem)
  mode,          // a queue file the queue's group cannot read (repair: give it mode 0640)
  ownership,     // system install: a queue directory, the trigger or another path of
                 // the root whose owner, group or mode is not quail init --system's
                 // (repair: give it those; mail/ with every file under it)
  account,       // system install: a service user whose groups are not quail init
                 // --system's, one group per purpose (repair: groupadd, usermod, gpasswd)
};

struct Problem {
  Kind kind;
  std::string path;    // relative to the root, as printed: queue/tmp/123.456
  std::string detail;  // why it is a problem
};

// Every problem found under root/queue, in a stable order (directories first).
Result<std::vector<Problem>> find_problems(const std::string& root);
// Repairs one problem; returns what was done ("removed", "moved to queue/corrupt/todo.12").
Result<std::string> repair(const std::string& root, const Problem& p);

// How old a tmp/ file must be to be debris even while its writer's pid is alive.
inline constexpr int64_t debris_age_seconds = 36 * 3600;

}  // namespace quail::check
