// The listening socket: see listener.hpp.
#include "listener.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace quail::tcpserver {
namespace {

constexpr int inherited_fd = 3;  // SD_LISTEN_FDS_START

Error usage(std::string reason) { return Error{ErrorKind::permanent, std::move(reason)}; }

// A decimal port, or a tcp service name from /etc/services (a file, not DNS).
Result<uint16_t> parse_port(const std::string& s) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (!s.empty() && ec == std::errc() && end == s.data() + s.size()) {
    if (v > 65535) return usage("port " + s + " is over 65535");
    return static_cast<uint16_t>(v);
  }
  if (const servent* se = ::getservbyname(s.c_str(), "tcp")) return ntohs(static_cast<uint16_t>(se->s_port));
  return usage("port must be a number or a tcp service name, not \"" + s + "\"");
}

// The socket handed over by socket activation: fd 3, when LISTEN_PID names this process.
Result<std::optional<Listener>> take_inherited(const Options& opt) {
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  // Variables meant for another process (our parent) are not ours to act on.
  if (!pid || !fds || std::string(pid) != std::to_string(::getpid())) return std::optional<Listener>();
  if (std::string(fds) != "1") {
    return usage("LISTEN_FDS=" + std::string(fds) + ": tcpserver takes exactly one inherited socket");
  }
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(inherited_fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) {
    return usage("inherited fd 3 is not a stream socket");
  }
  sockaddr_storage ss{};
  len = sizeof ss;
  uint16_t port = 0;
  std::optional<IpAddress> ip;
  if (::getsockname(inherited_fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    ip = ip_from_sockaddr(reinterpret_cast<sockaddr*>(&ss), &port);
  }
  if (!ip) return usage("inherited fd 3 is not a TCP socket");
  int listening = 0;
  len = sizeof listening;
  ::getsockopt(inherited_fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len);
  if (!listening && ::listen(inherited_fd, opt.backlog) != 0) {
    return sys_error(ErrorKind::temporary, "listen on inherited fd 3");
  }
  // Sessions must not inherit the listener; accept() must not block after a poll.
  int fl = ::fcntl(inherited_fd, F_GETFL);
  if (::fcntl(inherited_fd, F_SETFD, FD_CLOEXEC) != 0 || fl < 0 ||
      ::fcntl(inherited_fd, F_SETFL, fl | O_NONBLOCK) != 0) {
    return sys_error(ErrorKind::temporary, "set flags of inherited fd 3");
  }
  return std::optional<Listener>(Listener{Fd(inherited_fd), *ip, port, true});
}

struct Target {
  IpAddress addr;
  bool v6only = true;
  bool may_fall_back = false;  // "0" without -6 on a kernel without IPv6: use 0.0.0.0
};

Result<Target> bind_target(const Options& opt) {
  if (opt.host == "0") {
    if (opt.family == Family::v4) return Target{IpAddress{}, false, false};
    IpAddress any6;
    any6.v6 = true;
    return Target{any6, opt.family == Family::v6, opt.family == Family::any};
  }
  auto ip = parse_ip(opt.host);
  if (!ip) return usage("host must be an IP address literal, 0 or ::, not \"" + opt.host + "\" (no DNS is done)");
  if (ip->v6 && opt.family == Family::v4) return usage("-4 given with the IPv6 host " + opt.host);
  if (!ip->v6 && opt.family == Family::v6) return usage("-6 given with the IPv4 host " + opt.host);
  return Target{*ip, true, false};
}

Result<Listener> bind_and_listen(Target t, uint16_t port, int backlog) {
  Fd fd(::socket(t.addr.v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid() && t.addr.v6 && t.may_fall_back && errno == EAFNOSUPPORT) {
    t = Target{IpAddress{}, false, false};
    fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  }
  if (!fd.valid()) return sys_error(ErrorKind::temporary, "create a socket");
  int one = 1, v6only = t.v6only ? 1 : 0;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (t.addr.v6 && ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) != 0) {
    return sys_error(ErrorKind::temporary, "set IPV6_V6ONLY");
  }
  sockaddr_storage ss{};
  socklen_t len;
  if (t.addr.v6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    std::memcpy(&s6->sin6_addr, t.addr.bytes.data(), 16);
    len = sizeof *s6;
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    std::memcpy(&s4->sin_addr, t.addr.bytes.data(), 4);
    len = sizeof *s4;
  }
  const std::string where = (t.addr.v6 ? "[" + ip_text(t.addr) + "]" : ip_text(t.addr)) + ":" + std::to_string(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return sys_error(ErrorKind::temporary, "bind to " + where);
  }
  if (::listen(fd.get(), backlog) != 0) return sys_error(ErrorKind::temporary, "listen on " + where);
  len = sizeof ss;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return sys_error(ErrorKind::temporary, "read the address of " + where);
  }
  ip_from_sockaddr(reinterpret_cast<sockaddr*>(&ss), &port);
  return Listener{std::move(fd), t.addr, port, false};
}

}  // namespace

Result<Listener> open_listener(const Options& opt) {
  auto inherited = take_inherited(opt);
  if (!inherited) return inherited.error();
  if (*inherited) return std::move(**inherited);
  if (opt.host == "-" || opt.port == "-") {
    return usage("host and port \"-\" stand for an inherited socket, but LISTEN_FDS and LISTEN_PID "
                 "do not hand one to this process");
  }
  auto port = parse_port(opt.port);
  if (!port) return port.error();
  auto target = bind_target(opt);
  if (!target) return target.error();
  return bind_and_listen(*target, *port, opt.backlog);
}

}  // namespace quail::tcpserver
