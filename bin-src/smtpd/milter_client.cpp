// One filter's connection (see milter.hpp): a non-blocking socket whose every
// connect, write and read waits at most the filter's timeout, so a filter that
// hangs costs the client one timeout, never the session.
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.hpp"
#include "milter.hpp"

namespace quail::smtpd {
namespace {

// Waits for events on fd until deadline; false on timeout or error.
bool wait_for(int fd, short events, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - monotonic_ms();
    if (left <= 0) return false;
    struct pollfd p {fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    return n > 0;
  }
}

}  // namespace

void MilterClient::fail(std::string why) {
  if (!failed_) {
    failed_ = true;
    failure_ = std::move(why);
  }
  fd_.reset();
}

bool MilterClient::open() {
  const int64_t deadline = monotonic_ms() + int64_t{spec_.timeout_s} * 1000;
  struct sockaddr_storage ss {};
  socklen_t len = 0;
  if (spec_.unix_socket) {
    auto* un = reinterpret_cast<struct sockaddr_un*>(&ss);
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, spec_.path.c_str(), spec_.path.size() + 1);
    len = sizeof(struct sockaddr_un);
  } else if (spec_.host.find(':') != std::string::npos) {
    auto* in6 = reinterpret_cast<struct sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(spec_.port);
    ::inet_pton(AF_INET6, spec_.host.c_str(), &in6->sin6_addr);
    len = sizeof *in6;
  } else {
    auto* in = reinterpret_cast<struct sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(spec_.port);
    ::inet_pton(AF_INET, spec_.host.c_str(), &in->sin_addr);
    len = sizeof *in;
  }
  fd_ = Fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd_.get() < 0) {
    fail(std::string("unable to create socket: ") + std::strerror(errno));
    return false;
  }
  if (::connect(fd_.get(), reinterpret_cast<struct sockaddr*>(&ss), len) != 0) {
    if (errno != EINPROGRESS) {
      fail(std::string("unable to connect: ") + std::strerror(errno));
      return false;
    }
    int err = 0;
    socklen_t elen = sizeof err;
    if (!wait_for(fd_.get(), POLLOUT, deadline)) {
      fail("unable to connect: timed out");
      return false;
    }
    if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
      fail(std::string("unable to connect: ") + std::strerror(err ? err : errno));
      return false;
    }
  }
  if (!send(milter::encode_optneg())) return false;
  // The OPTNEG answer is the one reply that is not a Reply.
  for (;;) {
    auto p = reader_.next();
    if (!p) {
      fail(p.error().reason);
      return false;
    }
    if (*p) {
      if ((*p)->code != milter::cmd::optneg) {
        fail("unexpected answer to option negotiation");
        return false;
      }
      auto n = milter::parse_optneg((*p)->data);
      if (!n) {
        fail(n.error().reason);
        return false;
      }
      neg_ = std::move(*n);
      return true;
    }
    if (!wait_for(fd_.get(), POLLIN, deadline)) {
      fail("timed out negotiating");
      return false;
    }
    char buf[4096];
    ssize_t r = ::read(fd_.get(), buf, sizeof buf);
    if (r <= 0 && !(r < 0 && (errno == EINTR || errno == EAGAIN))) {
      fail(r == 0 ? "connection closed negotiating" : std::string("unable to read: ") + std::strerror(errno));
      return false;
    }
    if (r > 0) reader_.feed(std::string_view(buf, static_cast<size_t>(r)));
  }
}

bool MilterClient::send(const std::string& bytes) {
  if (failed_) return false;
  const int64_t deadline = monotonic_ms() + int64_t{spec_.timeout_s} * 1000;
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd_.get(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && wait_for(fd_.get(), POLLOUT, deadline)) continue;
    fail(n < 0 && errno != EAGAIN ? std::string("unable to write: ") + std::strerror(errno) : "timed out writing");
    return false;
  }
  return true;
}

std::optional<milter::Reply> MilterClient::read_reply() {
  if (failed_) return std::nullopt;
  int64_t deadline = monotonic_ms() + int64_t{spec_.timeout_s} * 1000;
  // Progress reports restart the clock, but not forever.
  const int64_t hard_deadline = monotonic_ms() + int64_t{spec_.timeout_s} * 1000 * 10;
  for (;;) {
    auto p = reader_.next();
    if (!p) {
      fail(p.error().reason);
      return std::nullopt;
    }
    if (*p) {
      auto r = milter::parse_reply(**p);
      if (!r) {
        fail(r.error().reason);
        return std::nullopt;
      }
      if (r->kind != milter::ReplyKind::progress) return std::move(*r);
      deadline = std::min(monotonic_ms() + int64_t{spec_.timeout_s} * 1000, hard_deadline);
      continue;
    }
    if (!wait_for(fd_.get(), POLLIN, deadline)) {
      fail("timed out after " + std::to_string(spec_.timeout_s) + " s");
      return std::nullopt;
    }
    char buf[16384];
    ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      fail(n == 0 ? "connection closed by the filter" : std::string("unable to read: ") + std::strerror(errno));
      return std::nullopt;
    }
    reader_.feed(std::string_view(buf, static_cast<size_t>(n)));
  }
}

std::optional<milter::Reply> MilterClient::ask(const std::string& bytes, uint32_t nr_flag) {
  if (!send(bytes)) return std::nullopt;
  if (nr_flag && !replies(nr_flag)) return milter::Reply{};
  return read_reply();
}

void MilterClient::quit() {
  if (!failed_ && fd_.get() >= 0) {
    std::string q = milter::encode(milter::cmd::quit);
    (void)::send(fd_.get(), q.data(), q.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  fd_.reset();
}

}  // namespace quail::smtpd
