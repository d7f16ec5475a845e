// Unit tests for lib/queue_space: the free-space floor smtpd and queue-inject
// apply (control/queuefree, control/queuefreebytes).
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "queue_space.hpp"

using quail::below_floor;
using quail::FsSpace;
using quail::SpaceFloor;

namespace {
constexpr uint64_t MiB = 1 << 20;
FsSpace fs(uint64_t total, uint64_t free, uint64_t inodes = 1000, uint64_t free_inodes = 900) {
  return FsSpace{total, free, inodes, free_inodes};
}
}  // namespace

TEST_CASE("queue space: 5 % of the filesystem is the default floor") {
  SpaceFloor f;
  CHECK_FALSE(below_floor(fs(100 * MiB, 6 * MiB), f, 0).has_value());
  CHECK(below_floor(fs(100 * MiB, 5 * MiB - 1), f, 0).has_value());
  CHECK_FALSE(below_floor(fs(100 * MiB, 5 * MiB), f, 0).has_value());
}

TEST_CASE("queue space: an announced size must fit above the floor") {
  SpaceFloor f;
  CHECK_FALSE(below_floor(fs(100 * MiB, 10 * MiB), f, 5 * MiB).has_value());
  auto why = below_floor(fs(100 * MiB, 10 * MiB), f, 5 * MiB + 1);
  REQUIRE(why.has_value());
  CHECK(why->find("announced") != std::string::npos);
  CHECK(why->find("(#4.3.1)") != std::string::npos);
}

TEST_CASE("queue space: the larger of the percent and the byte floor wins") {
  CHECK(below_floor(fs(100 * MiB, 20 * MiB), SpaceFloor{5, 30 * MiB}, 0).has_value());
  CHECK_FALSE(below_floor(fs(100 * MiB, 20 * MiB), SpaceFloor{5, 10 * MiB}, 0).has_value());
  CHECK(below_floor(fs(100 * MiB, 20 * MiB), SpaceFloor{0, 30 * MiB}, 0).has_value());
  CHECK(below_floor(fs(100 * MiB, 20 * MiB), SpaceFloor{21, 0}, 0).has_value());
}

TEST_CASE("queue space: running out of inodes is below the floor too") {
  SpaceFloor f;
  CHECK(below_floor(fs(100 * MiB, 50 * MiB, 1000, 49), f, 0).has_value());
  CHECK_FALSE(below_floor(fs(100 * MiB, 50 * MiB, 1000, 50), f, 0).has_value());
  // A filesystem that counts no inodes (btrfs) has no inode floor.
  CHECK_FALSE(below_floor(fs(100 * MiB, 50 * MiB, 0, 0), f, 0).has_value());
  // A tiny filesystem: 5 % of 10 inodes rounds to 0, yet none left is still full.
  CHECK(below_floor(fs(100 * MiB, 50 * MiB, 10, 0), f, 0).has_value());
}

TEST_CASE("queue space: huge filesystems do not overflow") {
  const uint64_t eib = uint64_t{1} << 60;
  CHECK_FALSE(below_floor(fs(15 * eib, 14 * eib, UINT64_MAX, UINT64_MAX), SpaceFloor{50, 0}, 0).has_value());
  CHECK(below_floor(fs(15 * eib, 7 * eib, UINT64_MAX, UINT64_MAX), SpaceFloor{50, 0}, 0).has_value());
  CHECK(below_floor(fs(100 * MiB, 60 * MiB), SpaceFloor{0, 0}, UINT64_MAX).has_value());
}

TEST_CASE("queue space: the control files are read strictly") {
  namespace fs = std::filesystem;
  fs::path root = fs::temp_directory_path() / ("quail-queue-space-" + std::to_string(::getpid()));
  fs::create_directories(root / "control");
  auto f = quail::read_space_floor(quail::Control(root.string()));
  REQUIRE(f.ok());
  CHECK(f->percent == 5);
  CHECK(f->bytes == 0);
  std::ofstream(root / "control" / "queuefree") << "51\n";
  CHECK_FALSE(quail::read_space_floor(quail::Control(root.string())).ok());
  std::ofstream(root / "control" / "queuefree") << "0\n";
  std::ofstream(root / "control" / "queuefreebytes") << "1048576\n";
  f = quail::read_space_floor(quail::Control(root.string()));
  REQUIRE(f.ok());
  CHECK(f->percent == 0);
  CHECK(f->bytes == 1048576);
  fs::remove_all(root);
}
