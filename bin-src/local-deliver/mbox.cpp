// mbox delivery: see mbox.hpp. One fsync per message; the lock is fcntl's, which
// mutt, Dovecot and procmail also take.
#include "mbox.hpp"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd.hpp"

namespace quail::ld {
namespace {

constexpr std::string_view from_ = "From ";

// Polls F_SETLK rather than waiting in F_SETLKW so the wait is bounded without
// a signal handler.
Status lock_whole_file(int fd, const std::string& path) {
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  struct timespec tick {0, 50 * 1000 * 1000};
  for (int i = 0; i < mbox_lock_seconds * 20; ++i) {
    if (::fcntl(fd, F_SETLK, &fl) == 0) return {};
    if (errno != EAGAIN && errno != EACCES && errno != EINTR) return sys_error(ErrorKind::temporary, "lock " + path);
    ::nanosleep(&tick, nullptr);
  }
  return Error{ErrorKind::temporary, "unable to lock " + path + ": still locked after " +
                                         std::to_string(mbox_lock_seconds) + " seconds"};
}

Status write_body(int fd, std::string_view from_line, std::string_view header_lines, const MessageSource& msg,
                  const std::string& path) {
  std::string out;
  out.reserve(1 << 17);
  out.append(from_line);
  FromQuoter q;
  q.feed(header_lines, out);
  bool wrote = true;
  auto read = read_message(msg, [&](std::string_view chunk) {
    q.feed(chunk, out);
    if (out.size() >= (1 << 16)) {
      wrote = write_all(fd, out);
      out.clear();
    }
    return wrote;
  });
  if (!wrote) return sys_error(ErrorKind::io_write, "write " + path);
  if (!read) return read.error();
  if (!q.finish(out)) out += '\n';
  out += '\n';  // the blank line that ends a message in mbox
  if (!write_all(fd, out)) return sys_error(ErrorKind::io_write, "write " + path);
  if (::fsync(fd) != 0) return sys_error(ErrorKind::io_write, "fsync " + path);
  return {};
}

}  // namespace

void FromQuoter::feed(std::string_view data, std::string& out) {
  for (char c : data) {
    if (bol_) {
      // Keep back what could still become "From " until it is decided.
      if (c == from_[pending_.size()]) {
        pending_ += c;
        if (pending_.size() == from_.size()) {
          out += '>';
          out += pending_;
          pending_.clear();
          bol_ = false;
        }
        last_ = c;
        continue;
      }
      out += pending_;
      pending_.clear();
    }
    out += c;
    bol_ = c == '\n';
    last_ = c;
  }
}

bool FromQuoter::finish(std::string& out) {
  out += pending_;
  pending_.clear();
  return last_ == '\n';
}

Status mbox_deliver(const std::string& path, std::string_view from_line, std::string_view header_lines,
                    const MessageSource& msg) {
  auto fd = open_fd(path, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY, 0600);
  if (!fd) return Error{ErrorKind::temporary, fd.error().reason};
  if (auto s = lock_whole_file(fd->get(), path); !s) return s;
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return sys_error(ErrorKind::temporary, "stat " + path);
  if (!S_ISREG(st.st_mode)) return Error{ErrorKind::temporary, "unable to deliver to " + path + ": not a regular file"};
  if (auto s = write_body(fd->get(), from_line, header_lines, msg, path); !s) {
    // Leave the mailbox as it was: a half message would corrupt the next one.
    if (::ftruncate(fd->get(), st.st_size) == 0) ::fsync(fd->get());
    return s;
  }
  return {};
}

}  // namespace quail::ld
