// Maildir delivery: see maildir.hpp. Two fsyncs per message: the file, then new/;
// one rename (RENAME_NOREPLACE) from tmp/ to new/ where the filesystem has it.
#include "maildir.hpp"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <vector>

#include "durable.hpp"
#include "fd.hpp"
#include "pop3_wire.hpp"

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

std::string maildir_sized_name(const std::string& unique, uint64_t wire_octets) {
  return unique + ",W=" + std::to_string(wire_octets);
}

Status maildir_publish(int md_fd, const std::string& name, bool noreplace_rename) {
  return maildir_publish(md_fd, name, name, noreplace_rename);
}

Status maildir_publish(int md_fd, const std::string& name, const std::string& new_name, bool noreplace_rename) {
  const std::string tmp = "tmp/" + name, dest = "new/" + new_name;
  if (noreplace_rename) {
    // One call, and an existing new/<name> is never replaced (EEXIST).
    if (::renameat2(md_fd, tmp.c_str(), md_fd, dest.c_str(), RENAME_NOREPLACE) == 0) return {};
    if (errno != EINVAL && errno != ENOSYS) return sys_error(ErrorKind::io_write, "move " + tmp + " to " + dest);
  }
  // A filesystem without RENAME_NOREPLACE: link(2) never replaces either; the
  // tmp/ name is then removed (a failure there leaves only a harmless extra name).
  if (::linkat(md_fd, tmp.c_str(), md_fd, dest.c_str(), 0) == 0) {
    ::unlinkat(md_fd, tmp.c_str(), 0);
    return {};
  }
  int err = errno;
  if (err != EPERM && err != ENOSYS && err != EOPNOTSUPP) {
    return sys_error(ErrorKind::io_write, "link " + tmp + " to " + dest, err);
  }
  // No hard links either: a plain rename keeps the guarantee here, since the
  // unique name cannot exist in new/ yet.
  if (::renameat(md_fd, tmp.c_str(), md_fd, dest.c_str()) != 0) {
    return sys_error(ErrorKind::io_write, "rename " + tmp + " to " + dest);
  }
  return {};
}

Result<std::string> maildir_deliver(const std::string& maildir, std::string_view header_lines,
                                    const MessageSource& msg) {
  // Everything below is relative to the Maildir's descriptor: its path is
  // walked once, not once per stat, create, link, open and unlink.
  Fd md(::open(maildir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  auto missing = [&](const char* what) {
    return Error{ErrorKind::not_found, "unable to find Maildir " + maildir + ": " + what};
  };
  if (!md.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return missing("no such directory");
    return sys_error(ErrorKind::io_write, "open " + maildir);
  }
  Fd new_dir(::openat(md.get(), "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!new_dir.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return missing("tmp/ or new/ is missing");
    return sys_error(ErrorKind::io_write, "open " + maildir + "/new");
  }
  // A name clash means another delivery took this name in the same microsecond:
  // a fresh name (Q grows) resolves it.
  Fd file;
  std::string name;
  for (int attempt = 0; attempt < 5 && !file.valid(); ++attempt) {
    name = maildir_unique_name();
    // Read and write: its wire size is counted from the file once it is written.
    file.reset(::openat(md.get(), ("tmp/" + name).c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!file.valid() && errno != EEXIST) break;
  }
  if (!file.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return missing("tmp/ or new/ is missing");
    return sys_error(ErrorKind::io_write, "create " + maildir + "/tmp/" + name);
  }
  // Until it is in new/, a failure removes the tmp/ file: nothing is left behind.
  struct TmpName {
    int dir;
    std::string path;
    ~TmpName() {
      if (!path.empty()) ::unlinkat(dir, path.c_str(), 0);
    }
  } tmp{md.get(), "tmp/" + name};
  const std::string shown = maildir + "/" + tmp.path;
  if (auto s = copy_message(msg, file.get(), header_lines); !s) {
    if (s.error().kind == ErrorKind::io_write) return sys_error(ErrorKind::io_write, "write " + shown);
    return s.error();
  }
  // The size POP3 will report, counted now while the file is in the page cache:
  // pop3d then never opens a message to size it (queue-layout/logins.md).
  auto wire = wire_size(file.get());
  if (!wire) return sys_error(ErrorKind::io_write, "read back " + shown);
  if (auto s = fsync_fd(file.get(), shown); !s) return s.error();
  const std::string final_name = maildir_sized_name(name, *wire);
  if (auto s = maildir_publish(md.get(), name, final_name, true); !s) return s.error();
  tmp.path.clear();
  // The message is in new/ from here; its name is durable once new/ is.
  std::string dest = maildir + "/new/" + final_name;
  if (::fsync(new_dir.get()) != 0) {
    Error e = sys_error(ErrorKind::io_write, "fsync " + maildir + "/new");
    ::unlinkat(md.get(), ("new/" + final_name).c_str(), 0);
    return e;
  }
  return dest;
}

}  // namespace quail
