// The pool of spent queue files: see queue_pool.hpp and queue-layout/README.md.
// Why it exists: a message used to cost one inode allocation (queue-inject's
// create) and one release (queue-send's unlink). On ext4 without a journal every
// allocation scans the inodes released in the last minutes, which a busy queue
// keeps full: parking and reusing the files removes both.
#include "queue_pool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "queue_file.hpp"

namespace quail {
namespace {

// Names of the files in pool/, at most `limit` of them (a pool/ that somebody
// filled beyond the limit is not read to the end). Debris names are skipped.
std::vector<std::string> pool_names(const std::string& dir, size_t limit) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return names;
  while (names.size() < limit) {
    dirent* e = ::readdir(d);
    if (!e) break;
    if (valid_queue_id(e->d_name)) names.emplace_back(e->d_name);
  }
  ::closedir(d);
  return names;
}

}  // namespace

PoolKeeper::PoolKeeper(std::string pool_dir) : dir_(std::move(pool_dir)) {
  struct stat st;
  if (!dir_.empty() && (::stat(dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))) dir_.clear();
}

bool PoolKeeper::park(const std::string& path, const std::string& id) {
  if (dir_.empty()) return false;
  if (!counted_ || parked_ >= pool_max_files) {
    if (refuse_ > 0) {
      --refuse_;
      return false;
    }
    parked_ = pool_names(dir_, pool_max_files).size();
    counted_ = true;
    if (parked_ >= pool_max_files) {
      // Nobody is injecting: unlink for a while rather than read pool/ per message.
      refuse_ = pool_max_files;
      return false;
    }
  }
  std::string dest = dir_ + "/" + id;
  if (::rename(path.c_str(), dest.c_str()) != 0) return false;
  ++parked_;
  return true;
}

Fd take_pooled_file(const std::string& pool_dir, const std::string& tmp_path, uint64_t seed, off_t& old_size) {
  auto names = pool_names(pool_dir, pool_max_files);
  if (names.empty()) return Fd();
  // Concurrent injectors read the same list; starting at different places they
  // rarely race for one name, and a lost race is only an ENOENT.
  constexpr size_t max_tries = 8;
  size_t n = names.size();
  for (size_t i = 0; i < n && i < max_tries; ++i) {
    std::string src = pool_dir + "/" + names[(seed + i) % n];
    if (::rename(src.c_str(), tmp_path.c_str()) != 0) continue;
    // From here the name in tmp/ is ours whatever it points at; never follow it.
    Fd fd(::open(tmp_path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    struct stat st;
    if (fd.valid() && ::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
        st.st_nlink == 1 && ::fcntl(fd.get(), F_SETFL, 0) == 0) {
      // A fresh mtime: the old one is the spent message's, and a tmp/ file that
      // looks 36 hours old is someone's debris (queue-layout, invariant 4).
      if (::futimens(fd.get(), nullptr) != 0) {
        fd.reset();
        ::unlink(tmp_path.c_str());
        continue;
      }
      old_size = st.st_size;
      return fd;
    }
    // Not a file queue-inject made and queue-send parked: drop the name, not its target.
    fd.reset();
    ::unlink(tmp_path.c_str());
  }
  return Fd();
}

}  // namespace quail
