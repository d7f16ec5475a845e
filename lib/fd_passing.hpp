// A packet or a stretch of a stream with a file descriptor attached (SCM_RIGHTS):
// how queue-send hands a queue file to local-spawn and to remote-deliver, and
// smtpd a spooled message to mailauth. One place for the cmsg arithmetic, and
// for the rule that a receiver never keeps more descriptors than it asked for.
#pragma once
#include <cstddef>
#include <span>
#include <string_view>
#include <sys/types.h>

#include "fd.hpp"

namespace quail {

// The most descriptors one message carries here.
inline constexpr size_t max_passed_fds = 4;

// sendmsg(2) of bytes, with fd attached when fd >= 0; EINTR is retried. The
// bytes sent, or -1 with errno.
ssize_t send_with_fd(int sock, std::string_view bytes, int fd, int flags);

// recvmsg(2) of up to len bytes into buf (descriptors close-on-exec). The first
// descriptor that arrives goes to *fd_out when it holds none yet; every other one
// is closed. truncated: the packet or its descriptors did not fit. The bytes
// received (0 at the end), or -1 with errno; EINTR is retried.
ssize_t recv_with_fd(int sock, char* buf, size_t len, Fd& fd_out, bool& truncated);

// The same with up to max_passed_fds descriptors (tlsd -d's hello: the
// connection and the session's stderr). Received ones fill the slots of out
// that hold none yet, in order; the rest are closed.
ssize_t send_with_fds(int sock, std::string_view bytes, std::span<const int> fds, int flags);
ssize_t recv_with_fds(int sock, char* buf, size_t len, std::span<Fd> out, bool& truncated);

}  // namespace quail
