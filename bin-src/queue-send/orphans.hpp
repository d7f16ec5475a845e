// Orphans: complete messages a killed queue-inject left in mess/ with no todo/
// name (between steps 5 and 6 of queue-layout/README.md, "Order of writes"), and
// the slow walk of mess/ that finds them while queue-send runs ("Orphans" there).
// Trusts names in mess/ and tmp/ only as far as their parsers do.
#pragma once
#include <cstdint>
#include <dirent.h>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "result.hpp"

namespace quail {

// How often mess/ is walked, and how long a file must have had its mess/ name
// before it can be an orphan (link(2) sets the ctime), both before
// $QUAIL_RETRY_SCALE divides them (man/queue-send.8, "Orphans").
inline constexpr int64_t orphan_rescan_every_ns = 300LL * 1000000000;
inline constexpr int64_t orphan_min_age_ns = 60LL * 1000000000;

// What queue-send learns of a file in mess/ it does not hold, in the order it asks.
struct OrphanFacts {
  bool regular = false;       // mess/<id> is (still) a regular file
  int64_t ctime_ns = 0;       // its ctime
  bool writer_alive = false;  // a tmp/ name of the same file whose writer pid runs
  bool todo_named = false;    // todo/<id> exists
};

enum class OrphanVerdict {
  orphan,        // take it: loaded as at start
  gone,          // no longer there, or not a regular file
  young,         // named in mess/ too recently: its injector may still rename it
  writer_alive,  // its injector runs (stopped or slow): it renames the file itself
  in_todo,       // a trigger brings it (or brought it) in the usual way
};
OrphanVerdict judge_orphan(const OrphanFacts& f, int64_t now_ns, int64_t min_age_ns);
const char* orphan_verdict_name(OrphanVerdict v);

// The inodes named in tmp/, each with whether its writer (the pid of a
// "<pid>.<birth>" name) runs; kill(2)'s EPERM counts as running. Names that are
// not queue-inject's have no writer that could rename them. Empty when tmp/
// cannot be read, which makes no file's writer look dead that was not.
struct TmpNames {
  std::unordered_map<uint64_t, bool> writer_alive;  // inode -> a writer runs
  bool readable = false;
};
TmpNames read_tmp_names(const std::string& tmp_dir);

// One walk over mess/, read a slice at a time so a large queue never holds the
// event loop for long; entries made or removed during the walk may or may not be
// seen (readdir(3)), every other one is seen once.
class MessWalk {
 public:
  // Errors: temporary (mess/ cannot be opened).
  static Result<MessWalk> open(const std::string& mess_dir);
  MessWalk(MessWalk&& o) noexcept : dir_(o.dir_) { o.dir_ = nullptr; }
  MessWalk& operator=(MessWalk&&) = delete;
  MessWalk(const MessWalk&) = delete;
  ~MessWalk();
  // Reads up to `max` names and appends the ids for which `held` is false to
  // `out`; false once the walk is over (also when readdir fails: the next walk
  // starts again). Names that are not ids are skipped.
  bool step(size_t max, const std::function<bool(uint64_t)>& held, std::vector<uint64_t>& out);
  // What is known of mess/<id> now: lstat of the file, then its writer in `tmp`
  // (read after the lstat, so a rename into todo/ that empties tmp/ also shows
  // in todo/), then todo/<id>. Stops asking at the first fact that settles it.
  OrphanFacts facts(uint64_t id, const std::string& todo_dir, const std::function<const TmpNames&()>& tmp,
                    int64_t now_ns, int64_t min_age_ns) const;

 private:
  explicit MessWalk(DIR* d) : dir_(d) {}
  DIR* dir_;
};

}  // namespace quail
