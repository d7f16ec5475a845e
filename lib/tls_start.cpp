// The start-TLS call: see tls_start.hpp. The helper's side is bin-src/tlsd/main.cpp.
#include "tls_start.hpp"

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd.hpp"
#include "root.hpp"
#include "spawn.hpp"

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

int64_t now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// The report line from fd, up to its LF; "" when the helper closed it first.
Result<std::string> read_report(int fd, int timeout_ms) {
  std::string got;
  int64_t deadline = now_ms() + timeout_ms;
  while (got.find('\n') == std::string::npos) {
    int64_t left = deadline - now_ms();
    if (left <= 0) return Error{ErrorKind::temporary, "TLS handshake: timeout"};
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno != EINTR) return sys_error(ErrorKind::temporary, "wait for tlsd");
    if (n <= 0) continue;
    char buf[256];
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return sys_error(ErrorKind::temporary, "read tlsd's report");
    if (r == 0) return std::string();
    got.append(buf, static_cast<size_t>(r));
    if (got.size() > max_report) return Error{ErrorKind::format, "tlsd's report is too long"};
  }
  return got.substr(0, got.find('\n'));
}

}  // namespace

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
  auto line = read_report(report_r.get(), timeout_ms);
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
  int64_t deadline = now_ms() + timeout_ms;
  for (int nap_ms = 1;; nap_ms = nap_ms < 100 ? nap_ms * 2 : 100) {
    int w;
    pid_t r = ::waitpid(info.helper, &w, WNOHANG);
    if (r != 0 || now_ms() >= deadline) return;  // reaped, gone, or left to init
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
