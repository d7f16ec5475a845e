// The message source and the loop check: see message.hpp.
#include "message.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "address.hpp"

namespace quail::ld {
namespace {

Result<Fd> new_memfd(const MessageSource& msg) {
  int fd = ::memfd_create("quail-message", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return sys_error(ErrorKind::temporary, "create a memfd");
  Fd out(fd);
  if (auto s = copy_message(msg, out.get()); !s) return s.error();
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool is_loop_line(std::string_view line, std::string_view recipient) {
  constexpr std::string_view name = "delivered-to:";
  if (line.size() < name.size() || lowercase(line.substr(0, name.size())) != name) return false;
  return lowercase(trim(line.substr(name.size()))) == lowercase(recipient);
}

}  // namespace

Result<MessageSource> open_message(uint64_t length, Fd& holder) {
  off_t pos = ::lseek(0, 0, SEEK_CUR);
  struct stat st;
  if (pos >= 0 && ::fstat(0, &st) == 0 && S_ISREG(st.st_mode)) {
    if (static_cast<uint64_t>(st.st_size) < static_cast<uint64_t>(pos) + length) {
      return Error{ErrorKind::io_read, "unable to read the message: the queue file is shorter than announced"};
    }
    return MessageSource{0, static_cast<uint64_t>(pos), length};
  }
  // A pipe (a test or a wrapper): take exactly length bytes into memory.
  int fd = ::memfd_create("quail-message", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return sys_error(ErrorKind::temporary, "create a memfd");
  holder.reset(fd);
  char buf[65536];
  uint64_t done = 0;
  while (done < length) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof buf, length - done));
    ssize_t n = read_full(0, buf, want);
    if (n < 0) return sys_error(ErrorKind::io_read, "read the message");
    if (static_cast<size_t>(n) < want) return Error{ErrorKind::io_read, "unable to read the message: it ends early"};
    if (!write_all(fd, std::string_view(buf, want))) return sys_error(ErrorKind::temporary, "write a memfd");
    done += want;
  }
  return MessageSource{fd, 0, length};
}

Result<bool> has_delivered_to(const MessageSource& msg, std::string_view recipient) {
  std::string line;
  bool found = false, header_done = false;
  auto read = read_message(msg, [&](std::string_view chunk) {
    for (char c : chunk) {
      if (c != '\n') {
        // A header line longer than any sane field is not a Delivered-To match.
        if (line.size() < 2048) line += c;
        continue;
      }
      if (line.empty() || line == "\r") header_done = true;  // end of the header
      else if (is_loop_line(line, recipient)) found = true;
      if (found || header_done) return false;
      line.clear();
    }
    return true;
  });
  if (!read) return read.error();
  if (found || header_done) return found;
  return !line.empty() && is_loop_line(line, recipient);
}

Result<Fd> message_memfd(const MessageSource& msg) {
  auto fd = new_memfd(msg);
  if (!fd) return fd.error();
  // Sealing is best effort (a kernel without it still gives a working stdin).
  ::fcntl(fd->get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
  if (::lseek(fd->get(), 0, SEEK_SET) != 0) return sys_error(ErrorKind::temporary, "rewind a memfd");
  return fd;
}

}  // namespace quail::ld
