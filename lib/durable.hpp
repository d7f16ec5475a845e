// Durable file writes: data reaches the disk, then its name does (write, fsync,
// rename, fsync the directory). What "acknowledged" rests on (DESIGN.md, principle 2).
#pragma once
#include <string>
#include <string_view>
#include <unistd.h>

#include "fd.hpp"
#include "result.hpp"

namespace quail {

// fsyncs a directory so entries created, renamed or removed in it survive a crash.
Status fsync_dir(const std::string& dir);
// fsyncs an open file; io_write on failure (EIO, ENOSPC surface here on some filesystems).
Status fsync_fd(int fd, const std::string& name);

// Replaces path with data atomically and durably: path.tmp is written, fsync'ed,
// renamed over path, and the directory fsync'ed. On failure path is unchanged.
// The file gets exactly `mode`, whatever the umask (so does TempFile's).
Status write_file_durable(const std::string& path, std::string_view data, mode_t mode = 0644);

// A file under construction that unlinks itself unless committed.
class TempFile {
 public:
  // Creates path exclusively (O_EXCL), with exactly `mode` whatever the umask.
  static Result<TempFile> create(const std::string& path, mode_t mode = 0600);
  TempFile(TempFile&& o) noexcept : path_(std::move(o.path_)), fd_(std::move(o.fd_)), committed_(o.committed_) {
    o.committed_ = true;
  }
  TempFile& operator=(TempFile&& o) noexcept {
    if (this != &o) {
      if (!committed_ && !path_.empty()) ::unlink(path_.c_str());
      path_ = std::move(o.path_);
      fd_ = std::move(o.fd_);
      committed_ = o.committed_;
      o.committed_ = true;
    }
    return *this;
  }
  TempFile(const TempFile&) = delete;
  ~TempFile();

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  // Writes data; io_write on failure.
  Status write(std::string_view data);
  // fsyncs and closes the file, then renames it to dest; the caller fsyncs dest's directory.
  Status commit_to(const std::string& dest);
  // Keeps the file where it is (the caller took ownership of its name).
  void keep() { committed_ = true; }

 private:
  TempFile(std::string path, Fd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  Fd fd_;
  bool committed_ = false;
};

// The directory part of a path ("." when there is none).
std::string dir_of(const std::string& path);

}  // namespace quail
