// FileLock: an exclusive fcntl lock on one file, held for the life of the object.
// Serialises the administrator's rewrites (users/.lock, run/.lock) between
// concurrent `quail` commands; readers never take it (they read atomic renames).
#pragma once
#include <string>

#include "fd.hpp"
#include "result.hpp"

namespace quail {

class FileLock {
 public:
  // Creates path if missing and waits for the exclusive lock; temporary on failure.
  static Result<FileLock> acquire(const std::string& path);
  FileLock(FileLock&&) = default;
  FileLock& operator=(FileLock&&) = default;
  // Closing the fd releases the lock.
  ~FileLock() = default;

 private:
  explicit FileLock(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

}  // namespace quail
