// Descriptors over Unix sockets: see fd_passing.hpp.
#include "fd_passing.hpp"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace quail {

ssize_t send_with_fds(int sock, std::string_view bytes, std::span<const int> fds, int flags) {
  if (fds.size() > max_passed_fds) {
    errno = EINVAL;
    return -1;
  }
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int) * max_passed_fds)] = {};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  if (!fds.empty()) {
    m.msg_control = ctrl;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do n = ::sendmsg(sock, &m, flags);
  while (n < 0 && errno == EINTR);
  return n;
}

ssize_t send_with_fd(int sock, std::string_view bytes, int fd, int flags) {
  return fd >= 0 ? send_with_fds(sock, bytes, std::span<const int>(&fd, 1), flags)
                 : send_with_fds(sock, bytes, {}, flags);
}

ssize_t recv_with_fds(int sock, char* buf, size_t len, std::span<Fd> out, bool& truncated) {
  iovec iov{buf, len};
  // Room for a few: a peer that sends more has them closed, not left open here.
  alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int) * max_passed_fds)];
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctrl;
  m.msg_controllen = sizeof ctrl;
  ssize_t n;
  do n = ::recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return n;
  size_t next = 0;
  while (next < out.size() && out[next].valid()) ++next;
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (next < out.size()) {
        out[next++].reset(fd);
      } else {
        ::close(fd);
      }
    }
  }
  truncated = (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
  return n;
}

ssize_t recv_with_fd(int sock, char* buf, size_t len, Fd& fd_out, bool& truncated) {
  return recv_with_fds(sock, buf, len, std::span<Fd>(&fd_out, 1), truncated);
}

}  // namespace quail
