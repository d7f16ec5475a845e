// Durable writes: see durable.hpp.
#include "durable.hpp"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace quail {

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status fsync_fd(int fd, const std::string& name) {
  if (::fsync(fd) != 0) return sys_error(ErrorKind::io_write, "fsync " + name);
  return {};
}

Status fsync_dir(const std::string& dir) {
  auto fd = open_fd(dir, O_RDONLY | O_DIRECTORY);
  if (!fd) return fd.error();
  return fsync_fd(fd->get(), dir);
}

Status write_file_durable(const std::string& path, std::string_view data, mode_t mode) {
  auto tmp = TempFile::create(path + ".tmp", mode);
  if (!tmp) {
    // A stale .tmp from a crashed writer: remove it and try once more.
    if (errno == EEXIST) {
      ::unlink((path + ".tmp").c_str());
      tmp = TempFile::create(path + ".tmp", mode);
    }
    if (!tmp) return tmp.error();
  }
  if (auto s = tmp->write(data); !s) return s;
  if (auto s = tmp->commit_to(path); !s) return s;
  return fsync_dir(dir_of(path));
}

Result<TempFile> TempFile::create(const std::string& path, mode_t mode) {
  auto fd = open_fd(path, O_WRONLY | O_CREAT | O_EXCL, mode);
  if (!fd) return fd.error();
  TempFile file(path, std::move(*fd));
  // The mode asked for, not what the caller's umask leaves of it: `quail up` or
  // `quail init` run from a shell with umask 077 would otherwise write tables and
  // control files the services' users cannot read.
  if (::fchmod(file.fd(), mode) != 0) return sys_error(ErrorKind::temporary, "chmod " + path);
  return file;
}

TempFile::~TempFile() {
  if (!committed_ && !path_.empty()) ::unlink(path_.c_str());
}

Status TempFile::write(std::string_view data) {
  if (!write_all(fd_.get(), data)) return sys_error(ErrorKind::io_write, "write " + path_);
  return {};
}

Status TempFile::commit_to(const std::string& dest) {
  if (auto s = fsync_fd(fd_.get(), path_); !s) return s;
  // close() can report a delayed write error (NFS); treat it as a failed write.
  if (::close(fd_.release()) != 0) return sys_error(ErrorKind::io_write, "close " + path_);
  if (::rename(path_.c_str(), dest.c_str()) != 0) return sys_error(ErrorKind::io_write, "rename " + path_ + " to " + dest);
  committed_ = true;
  path_ = dest;
  return {};
}

}  // namespace quail
