// Maildir delivery: see maildir.hpp. Two fsyncs per message: the file, then new/.
#include "maildir.hpp"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <vector>

#include "durable.hpp"
#include "fd.hpp"

namespace quail {
namespace {

constexpr size_t chunk_size = 1 << 16;

std::string escaped_host() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
  std::string out;
  for (const char* p = buf; *p; ++p) {
    if (*p == '/') out += "\\057";
    else if (*p == ':') out += "\\072";
    else out += *p;
  }
  return out;
}

bool is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

Status read_message(const MessageSource& msg, const std::function<bool(std::string_view)>& chunk) {
  char buf[65536];
  uint64_t done = 0;
  while (done < msg.length) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof buf, msg.length - done));
    ssize_t n = ::pread(msg.fd, buf, want, static_cast<off_t>(msg.offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error(ErrorKind::io_read, "read the message");
    if (n == 0) return Error{ErrorKind::io_read, "unable to read the message: it ends early"};
    done += static_cast<uint64_t>(n);
    if (!chunk(std::string_view(buf, static_cast<size_t>(n)))) break;
  }
  return {};
}

Status copy_message(const MessageSource& msg, int out, std::string_view prefix) {
  // The prefix and the first chunk go out in one write: a small message is one
  // write(2) in all. The buffer is no bigger than the message: zeroing a 64 KiB
  // vector for a 4 KiB message costs 16 page faults in a process that lives
  // for one delivery.
  std::vector<char> buf(static_cast<size_t>(std::min<uint64_t>(chunk_size, msg.length)) + prefix.size());
  std::copy(prefix.begin(), prefix.end(), buf.begin());
  size_t filled = prefix.size();
  uint64_t done = 0;
  for (;;) {
    while (filled < buf.size() && done < msg.length) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size() - filled, msg.length - done));
      ssize_t n = ::pread(msg.fd, buf.data() + filled, want, static_cast<off_t>(msg.offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sys_error(ErrorKind::io_read, "read the message");
      if (n == 0) return Error{ErrorKind::io_read, "unable to read the message: it ends early"};
      filled += static_cast<size_t>(n);
      done += static_cast<uint64_t>(n);
    }
    if (filled == 0) return {};
    if (!write_all(out, std::string_view(buf.data(), filled))) return sys_error(ErrorKind::io_write, "write the message");
    filled = 0;
    if (done == msg.length) return {};
  }
}

std::string maildir_unique_name() {
  static unsigned deliveries = 0;  // Qn: deliveries by this process
  static const std::string host = escaped_host();
  struct timeval tv;
  ::gettimeofday(&tv, nullptr);
  return std::to_string(tv.tv_sec) + ".M" + std::to_string(tv.tv_usec) + "P" + std::to_string(::getpid()) + "Q" +
         std::to_string(++deliveries) + "." + host;
}

Result<std::string> maildir_deliver(const std::string& maildir, std::string_view header_lines,
                                    const MessageSource& msg) {
  std::string tmp_dir = maildir + "/tmp", new_dir = maildir + "/new";
  if (!is_dir(tmp_dir) || !is_dir(new_dir)) {
    return Error{ErrorKind::not_found, "unable to find Maildir " + maildir + ": " +
                                           (is_dir(maildir) ? "tmp/ or new/ is missing" : "no such directory")};
  }
  // A name clash means another delivery took this name in the same microsecond:
  // a fresh name (Q grows) resolves it.
  Result<TempFile> file = Error{};
  std::string name;
  for (int attempt = 0; attempt < 5; ++attempt) {
    name = maildir_unique_name();
    file = TempFile::create(tmp_dir + "/" + name, 0600);
    if (file || errno != EEXIST) break;
  }
  if (!file) return Error{ErrorKind::io_write, file.error().reason};
  if (auto s = copy_message(msg, file->fd(), header_lines); !s) {
    if (s.error().kind == ErrorKind::io_write) return sys_error(ErrorKind::io_write, "write " + file->path());
    return s.error();
  }
  if (auto s = fsync_fd(file->fd(), file->path()); !s) return s.error();
  // link(2), not rename(2): an existing name in new/ is never replaced.
  std::string dest = new_dir + "/" + name;
  if (::link(file->path().c_str(), dest.c_str()) != 0) {
    int err = errno;
    if (err != EPERM && err != ENOSYS && err != EOPNOTSUPP) {
      return sys_error(ErrorKind::io_write, "link " + file->path() + " to " + dest, err);
    }
    // A filesystem without hard links: rename keeps the same guarantee here,
    // since the unique name cannot exist in new/ yet.
    if (auto s = file->commit_to(dest); !s) return s.error();
  }
  // From here the message is in new/; the TempFile unlinks its tmp/ name.
  if (auto s = fsync_dir(new_dir); !s) {
    ::unlink(dest.c_str());
    return Error{ErrorKind::io_write, s.error().reason};
  }
  return dest;
}

}  // namespace quail
