// The queue's free-space floor: see queue_space.hpp. Counts what an unprivileged
// writer may use (f_bavail, f_favail): ext4's root reserve is not ours to spend.
#include "queue_space.hpp"

#include <sys/statvfs.h>

namespace quail {
namespace {

std::string kib(uint64_t bytes) { return std::to_string(bytes / 1024) + " KiB"; }

}  // namespace

Result<SpaceFloor> read_space_floor(const Control& control) {
  SpaceFloor f;
  auto percent = control.integer("queuefree");
  if (!percent) return percent.error();
  auto bytes = control.integer("queuefreebytes");
  if (!bytes) return bytes.error();
  f.percent = *percent;
  f.bytes = *bytes;
  return f;
}

Result<FsSpace> fs_space(const std::string& path) {
  struct statvfs st;
  if (::statvfs(path.c_str(), &st) != 0) return sys_error(ErrorKind::temporary, "statvfs " + path);
  FsSpace fs;
  const uint64_t unit = st.f_frsize ? st.f_frsize : st.f_bsize;
  fs.total_bytes = static_cast<uint64_t>(st.f_blocks) * unit;
  fs.free_bytes = static_cast<uint64_t>(st.f_bavail) * unit;
  fs.total_inodes = st.f_files;
  fs.free_inodes = st.f_favail;
  return fs;
}

std::optional<std::string> below_floor(const FsSpace& fs, const SpaceFloor& floor, uint64_t incoming) {
  const uint64_t pct = static_cast<uint64_t>(floor.percent);
  uint64_t need = fs.total_bytes / 100 * pct + fs.total_bytes % 100 * pct / 100;
  if (static_cast<uint64_t>(floor.bytes) > need) need = static_cast<uint64_t>(floor.bytes);
  // The declared size (SIZE=) must fit above the floor, not merely the floor itself.
  if (fs.free_bytes < need || fs.free_bytes - need < incoming) {
    return "insufficient system storage: " + kib(fs.free_bytes) + " free on the queue's filesystem, " +
           (incoming ? kib(incoming) + " announced, " : std::string()) + "floor " + kib(need) + " (#4.3.1)";
  }
  // Every message costs inodes (its queue file, its journal, a Maildir file per
  // recipient): running out of them is a full disk too.
  if (fs.total_inodes > 0) {
    uint64_t inodes = fs.total_inodes / 100 * pct + fs.total_inodes % 100 * pct / 100;
    if (fs.free_inodes < inodes || fs.free_inodes == 0) {
      return "insufficient system storage: " + std::to_string(fs.free_inodes) +
             " inodes free on the queue's filesystem, floor " + std::to_string(inodes) + " (#4.3.1)";
    }
  }
  return std::nullopt;
}

Result<std::optional<std::string>> queue_below_floor(const Control& control, const std::string& root,
                                                     uint64_t incoming) {
  auto floor = read_space_floor(control);
  if (!floor) return floor.error();
  if (floor->percent == 0 && floor->bytes == 0) return std::optional<std::string>();
  auto fs = fs_space(root + "/queue");
  if (!fs) return fs.error();
  return below_floor(*fs, *floor, incoming);
}

}  // namespace quail
