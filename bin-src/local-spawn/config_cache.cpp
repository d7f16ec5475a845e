// The stat-checked control/ cache: see config_cache.hpp. A process's cache is
// copied into its forked children with the rest of its memory; it stays right
// there too, since every use stats the files again.
#include "config_cache.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <linux/magic.h>
#include <optional>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <vector>

#include "control.hpp"
#include "durable.hpp"
#include "srs_key.hpp"

namespace quail {
namespace {

long long ns_of(const timespec& t) { return t.tv_sec * 1'000'000'000LL + t.tv_nsec; }

// One file's stat as compared; all zero (size -1) when it is missing.
struct FileStat {
  long long dev = 0, ino = 0, size = -1, mtime = 0, ctime = 0;
  bool operator==(const FileStat&) const = default;
};

struct Stamp {
  std::vector<FileStat> signature;
  bool settled = true;  // every file last changed over control_settle_ns ago, every stat answered
};

// Taken before the read, so a change during the read makes the next stamp differ.
Stamp stamp_of(const std::vector<std::string>& paths) {
  Stamp s;
  s.signature.reserve(paths.size());
  long long newest = LLONG_MIN;
  for (const std::string& path : paths) {
    struct stat st;
    FileStat& f = s.signature.emplace_back();
    if (::stat(path.c_str(), &st) != 0) {
      s.settled = s.settled && errno == ENOENT;  // anything else: not kept, read again next time
      continue;
    }
    f = {static_cast<long long>(st.st_dev), static_cast<long long>(st.st_ino), static_cast<long long>(st.st_size),
         ns_of(st.st_mtim), ns_of(st.st_ctim)};
    newest = std::max({newest, f.mtime, f.ctime});
  }
  timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  s.settled = s.settled && newest < ns_of(now) - control_settle_ns;
  return s;
}

// Whether a stat of a file under dir tells a change as an open would: not on a
// network or FUSE filesystem, where a stat may come from the client's attribute
// cache (NFS: up to acregmax) while an open revalidates. Asked once per process.
bool stat_sees_changes(const std::string& dir) {
  struct statfs fs;
  if (::statfs(dir.c_str(), &fs) != 0) return false;
  switch (static_cast<unsigned long>(fs.f_type)) {
    case NFS_SUPER_MAGIC: case SMB_SUPER_MAGIC: case CIFS_SUPER_MAGIC: case SMB2_SUPER_MAGIC:
    case FUSE_SUPER_MAGIC: case CEPH_SUPER_MAGIC: case AFS_SUPER_MAGIC: case AFS_FS_MAGIC:
    case CODA_SUPER_MAGIC: case V9FS_MAGIC: case OCFS2_SUPER_MAGIC:
      return false;
    default:
      return true;
  }
}

// One value read from control/ files: their paths (and whether a stat of them
// can be trusted) are worked out once per root.
template <typename T>
struct Cached {
  std::string root;
  std::vector<std::string> paths;
  bool keep = false;
  std::vector<FileStat> signature;
  std::optional<T> value;
};

template <typename T, typename Paths, typename Load>
Result<T> cached(Cached<T>& c, const std::string& root, Paths paths_of, Load load) {
  if (c.paths.empty() || c.root != root) {
    c.root = root;
    c.paths = paths_of(root);
    c.keep = std::all_of(c.paths.begin(), c.paths.end(),
                         [](const std::string& p) { return stat_sees_changes(dir_of(p)); });
    c.value.reset();
  }
  if (!c.keep) return load(root);  // read every time, as without the cache
  Stamp s = stamp_of(c.paths);
  if (c.value && c.signature == s.signature) return *c.value;
  c.value.reset();
  Result<T> v = load(root);
  if (v && s.settled) {
    c.signature = std::move(s.signature);
    c.value = *v;
  }
  return v;
}

Cached<LocalConfig> config_cache;
Cached<std::shared_ptr<const ListSecret>> key_cache;

}  // namespace

Result<LocalConfig> cached_local_config(const std::string& root) {
  auto paths = [](const std::string& r) {
    const std::string dir = Control(r).dir();
    return std::vector<std::string>{dir + "/me", dir + "/locals", dir + "/virtualdomains", dir + "/system",
                                    dir + "/minuid", control_snapshot_path(r)};
  };
  return cached(config_cache, root, paths, [](const std::string& r) { return load_local_config(r); });
}

Result<std::shared_ptr<const ListSecret>> cached_srs_key(const std::string& root) {
  auto paths = [](const std::string& r) { return std::vector<std::string>{srs_key_path(r)}; };
  return cached(key_cache, root, paths, load_srs_key);
}

void forget_cached_control() {
  config_cache.value.reset();
  key_cache.value.reset();
}

}  // namespace quail
