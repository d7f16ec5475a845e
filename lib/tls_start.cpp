// The start-TLS call: see tls_start.hpp. The helper's side is bin-src/tlsd/main.cpp.
#include "tls_start.hpp"

#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "address.hpp"
#include "clock.hpp"
#include "fd.hpp"
#include "fd_passing.hpp"
#include "root.hpp"
#include "spawn.hpp"
#include "unix_connect.hpp"

namespace quail {
namespace {

constexpr size_t max_report = 200;

bool token_ok(std::string_view t) {
  if (t.empty() || t.size() > 80) return false;
  for (unsigned char c : t) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// The report line from fd, up to its LF; "" when the helper closed fd first.
// On the resident tlsd's connection (socket) the plaintext follows the line, so
// nothing past its LF is taken: each read peeks first. not_found when that
// connection was reset before a byte came (our hello lay unread: no process
// ever held the client's socket).
Result<std::string> read_report(int fd, int timeout_ms, bool socket) {
  std::string got;
  int64_t deadline = monotonic_ms() + timeout_ms;
  for (;;) {
    int64_t left = deadline - monotonic_ms();
    if (left <= 0) return Error{ErrorKind::temporary, "TLS handshake: timeout"};
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno != EINTR) return sys_error(ErrorKind::temporary, "wait for tlsd");
    if (n <= 0) continue;
    char buf[max_report + 1];
    ssize_t r = socket ? ::recv(fd, buf, sizeof buf, MSG_PEEK) : ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && socket && errno == ECONNRESET && got.empty()) {
      return Error{ErrorKind::not_found, "the resident tlsd reset its socket"};
    }
    if (r < 0) return sys_error(ErrorKind::temporary, "read tlsd's report");
    if (r == 0) return std::string();
    std::string_view seen(buf, static_cast<size_t>(r));
    size_t lf = seen.find('\n');
    size_t take = lf == std::string_view::npos ? seen.size() : lf + 1;
    if (socket && ::recv(fd, buf, take, 0) != static_cast<ssize_t>(take)) {
      return sys_error(ErrorKind::temporary, "read tlsd's report");
    }
    got.append(buf, take);
    if (lf != std::string_view::npos) return got.substr(0, got.size() - 1);
    if (got.size() > max_report) return Error{ErrorKind::format, "tlsd's report is too long"};
  }
}

// STARTTLS through a process of the resident tlsd: connect (never waiting: none
// listening means our own tlsd), a hello with the client's connection and our
// stderr attached, then its report on the same connection. nullopt when no
// resident tlsd took the client's socket (no connect, or a reset before it read
// our hello): the caller starts its own.
std::optional<Result<TlsInfo>> start_tls_resident(const std::string& root, int timeout_ms) {
  Fd sock = connect_unix_now(tls_socket_path(root));
  if (!sock.valid()) return std::nullopt;
  const char* ip = std::getenv("TCPREMOTEIP");
  std::string hello = tls_hello(ip ? ip : "");
  const int fds[] = {0, 2};
  if (send_with_fds(sock.get(), hello, fds, MSG_NOSIGNAL) != static_cast<ssize_t>(hello.size())) return std::nullopt;
  auto line = read_report(sock.get(), timeout_ms, true);
  if (!line && line.error().kind == ErrorKind::not_found) return std::nullopt;
  if (!line) return Result<TlsInfo>(line.error());
  if (line->empty()) return Result<TlsInfo>(Error{ErrorKind::temporary, "TLS handshake failed (see tlsd's log line)"});
  auto info = parse_tls_report(*line);
  if (!info) return info;
  if (::dup2(sock.get(), 0) < 0 || ::dup2(sock.get(), 1) < 0) return Result<TlsInfo>(sys_error(ErrorKind::temporary, "dup2"));
  return info;
}

}  // namespace

std::string tls_socket_path(const std::string& root) { return root + "/run/tlsd.sock"; }

std::string tls_hello(std::string_view ip) {
  if (ip.size() + 2 > max_tls_hello || !ip_literal_chars(ip)) ip = {};
  return "T" + std::string(ip) + "\n";
}

std::optional<std::string> parse_tls_hello(std::string_view hello) {
  if (hello.size() < 2 || hello.size() > max_tls_hello || hello.front() != 'T' || hello.back() != '\n') {
    return std::nullopt;
  }
  std::string_view ip = hello.substr(1, hello.size() - 2);
  if (!ip_literal_chars(ip)) return std::nullopt;
  return std::string(ip);
}

bool tls_available(const std::string& root) {
  struct stat st;
  return ::stat((root + "/control/tls/cert.pem").c_str(), &st) == 0 &&
         ::stat((bin_dir(root) + "/tlsd").c_str(), &st) == 0;
}

Result<TlsInfo> parse_tls_report(std::string_view line) {
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return Error{ErrorKind::format, "malformed tlsd report"};
  std::string_view protocol = line.substr(0, sp), cipher = line.substr(sp + 1);
  if (!token_ok(protocol) || !token_ok(cipher)) return Error{ErrorKind::format, "malformed tlsd report"};
  return TlsInfo{std::string(protocol), std::string(cipher)};
}

Result<TlsInfo> start_tls(const std::string& root, int timeout_ms) {
  if (auto resident = start_tls_resident(root, timeout_ms)) return std::move(*resident);
  int sv[2], rp[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return sys_error(ErrorKind::temporary, "create a socketpair");
  }
  Fd ours(sv[0]), theirs(sv[1]);
  if (::pipe2(rp, O_CLOEXEC) != 0) return sys_error(ErrorKind::temporary, "create a pipe");
  Fd report_r(rp[0]), report_w(rp[1]);
  // Above the numbers the child's dup2s target, so no mapping overwrites another's source.
  Fd peer(::fcntl(theirs.get(), F_DUPFD_CLOEXEC, 10)), report(::fcntl(report_w.get(), F_DUPFD_CLOEXEC, 10));
  if (!peer.valid() || !report.valid()) return sys_error(ErrorKind::temporary, "dup a descriptor");
  theirs.reset();
  report_w.reset();
  // tlsd gets the connection (fds 0/1), our peer socket (3) and the report pipe (4).
  auto pid = spawn({bin_dir(root) + "/tlsd"}, {.fd_map = {{3, peer.get()}, {4, report.get()}}});
  if (!pid) return pid.error();
  peer.reset();
  report.reset();
  auto line = read_report(report_r.get(), timeout_ms, false);
  if (!line) return line.error();
  if (line->empty()) {
    (void)wait_for(*pid);  // it closed the report because it is ending
    return Error{ErrorKind::temporary, "TLS handshake failed (see tlsd's log line)"};
  }
  auto info = parse_tls_report(*line);
  if (!info) return info.error();
  // From here on the session talks plaintext to tlsd; the network socket is tlsd's alone.
  if (::dup2(ours.get(), 0) < 0 || ::dup2(ours.get(), 1) < 0) return sys_error(ErrorKind::temporary, "dup2");
  info->helper = *pid;
  return info;
}

void finish_tls(const TlsInfo& info, int timeout_ms) {
  if (info.helper <= 0) return;
  ::close(0);
  ::close(1);
  int64_t deadline = monotonic_ms() + timeout_ms;
  for (int nap_ms = 1;; nap_ms = nap_ms < 100 ? nap_ms * 2 : 100) {
    int w;
    pid_t r = ::waitpid(info.helper, &w, WNOHANG);
    if (r != 0 || monotonic_ms() >= deadline) return;  // reaped, gone, or left to init
    ::usleep(static_cast<useconds_t>(nap_ms) * 1000);
  }
}

std::optional<TlsInfo> tls_from_environment() {
  const char* p = std::getenv("SSL_PROTOCOL");
  const char* c = std::getenv("SSL_CIPHER");
  if (!p || !c || !token_ok(p) || !token_ok(c)) return std::nullopt;
  return TlsInfo{p, c};
}

}  // namespace quail
