// Fd: the owner of one file descriptor, and full reads/writes that retry on EINTR
// and short counts. Nothing here exits or logs.
#pragma once
#include <string>
#include <string_view>
#include <unistd.h>

#include "result.hpp"

namespace quail {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Writes all of data; false with errno set on failure.
bool write_all(int fd, std::string_view data);
// Reads up to n bytes, retrying short reads until n or EOF; -1 on error.
ssize_t read_full(int fd, char* buf, size_t n);
// Reads fd to EOF into out (appending); false with errno set on failure.
bool read_all(int fd, std::string& out, size_t limit = SIZE_MAX);
// Reads a whole file; not_found if it does not exist.
Result<std::string> read_file(const std::string& path, size_t limit = SIZE_MAX);
// The same for `name` relative to the directory descriptor dir (AT_FDCWD: the
// working directory); errors name the file as `shown`.
Result<std::string> read_file_at(int dir, const std::string& name, const std::string& shown, size_t limit = SIZE_MAX);
// Opens with O_CLOEXEC; the error names the path.
Result<Fd> open_fd(const std::string& path, int flags, mode_t mode = 0);

}  // namespace quail
