// Full reads and writes over file descriptors.
#include "fd.hpp"

#include <cerrno>
#include <fcntl.h>

namespace quail {

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

ssize_t read_full(int fd, char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, buf + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return static_cast<ssize_t>(got);
}

// Reads straight into out, growing it a chunk at a time: no big buffer on the
// stack, whose pages would stay resident in every long-lived caller (an idle
// smtpd reads its control files through here).
bool read_all(int fd, std::string& out, size_t limit) {
  size_t chunk = 4096;
  for (;;) {
    const size_t old = out.size();
    out.resize(old + chunk);
    ssize_t r = ::read(fd, out.data() + old, chunk);
    out.resize(old + (r > 0 ? static_cast<size_t>(r) : 0));
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (r == 0) return true;
    if (out.size() > limit) {
      errno = EFBIG;
      return false;
    }
    if (chunk < 65536) chunk *= 2;
  }
}

Result<Fd> open_fd(const std::string& path, int flags, mode_t mode) {
  int fd;
  do fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    return sys_error(errno == ENOENT ? ErrorKind::not_found : ErrorKind::temporary, "open " + path);
  }
  return Fd(fd);
}

Result<std::string> read_file(const std::string& path, size_t limit) {
  return read_file_at(AT_FDCWD, path, path, limit);
}

Result<std::string> read_file_at(int dir, const std::string& name, const std::string& shown, size_t limit) {
  int fd;
  do fd = ::openat(dir, name.c_str(), O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return sys_error(errno == ENOENT ? ErrorKind::not_found : ErrorKind::temporary, "open " + shown);
  Fd owned(fd);
  std::string out;
  if (!read_all(owned.get(), out, limit)) return sys_error(ErrorKind::io_read, "read " + shown);
  return out;
}

}  // namespace quail
