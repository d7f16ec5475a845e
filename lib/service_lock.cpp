// FileLock: see service_lock.hpp.
#include "service_lock.hpp"

#include <cerrno>
#include <fcntl.h>

namespace quail {

Result<FileLock> FileLock::acquire(const std::string& path) {
  // O_CLOEXEC (open_fd): a service started while the lock is held must not keep the file open.
  auto fd = open_fd(path, O_RDWR | O_CREAT, 0600);
  if (!fd) return fd.error();
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  while (::fcntl(fd->get(), F_SETLKW, &fl) != 0) {
    if (errno != EINTR) return sys_error(ErrorKind::temporary, "lock " + path);
  }
  return FileLock(std::move(*fd));
}

}  // namespace quail
