// The pool of spent queue files, queue/pool/ (queue-layout/README.md, "The pool"):
// queue-send parks a finished message's file there instead of unlinking it, and
// queue-inject writes its next message over one. Pool files hold no mail; nothing
// in them is trusted: a taken file must be a plain file of queue-inject's own.
#pragma once
#include <cstdint>
#include <string>
#include <sys/types.h>

#include "fd.hpp"

namespace quail {

// At most this many files wait in pool/: a pool/ of short decimal names stays in
// one directory block, so reading it costs one getdents, and the disk it holds is
// bounded together with the next limit.
inline constexpr size_t pool_max_files = 100;
// Larger queue files are unlinked as before: a pool of big files would hold disk.
inline constexpr uint64_t pool_max_file_bytes = 128 * 1024;

// queue-send's side. Counts what it parks; queue-inject takes files unseen, so the
// count is an upper bound, corrected by reading pool/ when it reaches the limit.
class PoolKeeper {
 public:
  // An empty or missing pool_dir (a queue made before the pool existed) parks nothing.
  explicit PoolKeeper(std::string pool_dir);
  // Renames a finished queue file (`path`, named `id`, at most pool_max_file_bytes:
  // the caller knows its size) into pool/ when there is room. False: nothing was
  // done, and the caller unlinks it.
  bool park(const std::string& path, const std::string& id);

 private:
  std::string dir_;
  size_t parked_ = 0;  // upper bound of the files in pool/
  bool counted_ = false;
  size_t refuse_ = 0;  // after a count found pool/ full: refusals before counting again
};

// queue-inject's side: moves one pooled file to `tmp_path` and opens it for
// writing at offset 0. Returns an invalid Fd when the pool is empty, missing, or
// what it offers is unfit (anything but a regular file of this euid with one link);
// an unfit file is removed. `seed` spreads concurrent injectors over the pool;
// `old_size` receives the file's size (the caller truncates what it does not overwrite).
Fd take_pooled_file(const std::string& pool_dir, const std::string& tmp_path, uint64_t seed, off_t& old_size);

}  // namespace quail
