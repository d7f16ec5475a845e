// The socket supervise holds across its child's restarts: see supervise.hpp.
#include <arpa/inet.h>
#include <charconv>
#include <netinet/in.h>
#include <sys/socket.h>

#include "supervise.hpp"

namespace quail::supervise {

Result<Fd> listen_on(const std::string& host, const std::string& port, int backlog) {
  std::string where = host + " port " + port;
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535) {
    return Error{ErrorKind::permanent, "port " + port + " is not a number 1..65535"};
  }
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* in4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, host.c_str(), &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons(static_cast<uint16_t>(p));
    len = sizeof *in4;
  } else if (::inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(p));
    len = sizeof *in6;
  } else {
    return Error{ErrorKind::permanent, host + " is not an IPv4 or IPv6 address"};
  }
  Fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return sys_error(ErrorKind::temporary, "create a socket for " + where);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // [::1]:25 means IPv6 only; IPv4 clients get their own listener.
  if (ss.ss_family == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return sys_error(ErrorKind::permanent, "bind " + where);
  }
  if (::listen(fd.get(), backlog) != 0) return sys_error(ErrorKind::temporary, "listen on " + where);
  return fd;
}

}  // namespace quail::supervise
