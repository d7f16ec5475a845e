// The free-space floor of the queue's filesystem (control/queuefree,
// control/queuefreebytes; man/quail-control.5, queue-layout/README.md "The
// free-space floor"): below it smtpd and queue-inject refuse new mail with a
// temporary failure, so a nearly full disk never takes a message half way.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "control.hpp"
#include "result.hpp"

namespace quail {

struct SpaceFloor {
  int64_t percent = 5;  // of the filesystem's blocks and of its inodes
  int64_t bytes = 0;    // an absolute floor beside the percent (the larger wins)
};

// What statvfs(2) says about one filesystem, in the units that matter here.
struct FsSpace {
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;  // available to an unprivileged writer (f_bavail)
  uint64_t total_inodes = 0;  // 0: the filesystem does not count inodes (btrfs)
  uint64_t free_inodes = 0;
};

// control/queuefree and control/queuefreebytes, or their defaults; config error
// naming the file when one is malformed.
Result<SpaceFloor> read_space_floor(const Control& control);

// statvfs of path; a temporary error when it fails.
Result<FsSpace> fs_space(const std::string& path);

// Why a message of `incoming` bytes (0: size unknown) would leave the space
// or the inodes below the floor; nullopt when there is room. The text ends in
// the RFC 3463 code, "(#4.3.1)", for every caller's reply.
std::optional<std::string> below_floor(const FsSpace& fs, const SpaceFloor& floor, uint64_t incoming);

// The queue of root below its floor (read from control)? nullopt when there is
// room; the reason otherwise. A control or statvfs error is returned as an Error.
Result<std::optional<std::string>> queue_below_floor(const Control& control, const std::string& root,
                                                     uint64_t incoming);

}  // namespace quail
