// Unix socket connects that never wait: see unix_connect.hpp.
#include "unix_connect.hpp"

#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace quail {

bool unix_address(const std::string& path, sockaddr_un& out) {
  out = sockaddr_un{};
  out.sun_family = AF_UNIX;
  if (path.size() >= sizeof out.sun_path) return false;
  std::memcpy(out.sun_path, path.c_str(), path.size() + 1);
  return true;
}

Fd connect_unix_now(const std::string& path) {
  sockaddr_un addr;
  if (!unix_address(path, addr)) return Fd();
  Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!sock.valid() || ::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return Fd();
  int fl = ::fcntl(sock.get(), F_GETFL);
  if (fl < 0 || ::fcntl(sock.get(), F_SETFL, fl & ~O_NONBLOCK) != 0) return Fd();
  return sock;
}

Result<Fd> bind_unix_private(const std::string& path) {
  sockaddr_un addr;
  if (!unix_address(path, addr)) return Error{ErrorKind::config, "socket path too long: " + path};
  Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return sys_error(ErrorKind::temporary, "socket");
  ::unlink(path.c_str());
  mode_t old = ::umask(0177);
  int b = ::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (b != 0) return sys_error(ErrorKind::temporary, "bind " + path);
  return sock;
}

}  // namespace quail
