// The resident dnsbl's verdict: see dnsbl.hpp.
#include "dnsbl.hpp"

#include <cerrno>
#include <cstdlib>
#include <poll.h>
#include <string_view>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "clock.hpp"
#include "control.hpp"
#include "dnsbl_refuse.hpp"
#include "dnsbl_wire.hpp"
#include "fd_passing.hpp"
#include "log.hpp"
#include "root.hpp"
#include "unix_connect.hpp"

namespace quail::smtpd {
namespace {

// Beyond control/timeoutdnsbl, which bounds the helper's lookups: its start
// and the control reads on a loaded machine.
constexpr int answer_margin_ms = 5000;

enum class Got { line, gone, timeout, trouble };

// The verdict line, without its LF. gone: the helper closed or reset the
// connection before a byte of it (it was stopped, or crashed).
Got read_verdict(int fd, int timeout_ms, std::string& line) {
  line.clear();
  int64_t deadline = monotonic_ms() + timeout_ms;
  for (;;) {
    int64_t left = deadline - monotonic_ms();
    if (left <= 0) return Got::timeout;
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno != EINTR) return Got::trouble;
    if (n <= 0) continue;
    char buf[max_dnsbl_verdict];
    ssize_t r = ::read(fd, buf, sizeof buf - line.size());
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return line.empty() && (r == 0 || errno == ECONNRESET) ? Got::gone : Got::trouble;
    line.append(buf, static_cast<size_t>(r));
    if (size_t lf = line.find('\n'); lf != std::string::npos) {
      if (lf + 1 != line.size()) return Got::trouble;
      line.pop_back();
      return Got::line;
    }
    if (line.size() >= max_dnsbl_verdict) return Got::trouble;
  }
}

// The wrapper in our place, as before resident helpers: it execs smtpd again
// without "dnsbl". Nothing has been said to the client yet. Returns on failure.
void exec_wrapper(const std::string& root, int argc, char** argv, std::string_view why) {
  log_info({{"event", "dnsbl"}, {"result", "retry"}, {"reason", why}});
  std::vector<std::string> args = {bin_dir(root) + "/dnsbl", bin_dir(root) + "/smtpd"};
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) != "dnsbl") args.emplace_back(argv[i]);
  }
  std::vector<char*> ptrs;
  for (auto& a : args) ptrs.push_back(a.data());
  ptrs.push_back(nullptr);
  ::execv(ptrs[0], ptrs.data());
  log_warn({{"event", "dnsbl"}, {"result", "fail"},
            {"reason", sys_error(ErrorKind::temporary, "run " + args[0]).reason + "; the client is not looked up"}});
}

}  // namespace

bool dnsbl_refused(const std::string& root, int argc, char** argv) {
  const char* ip = std::getenv("TCPREMOTEIP");
  if (!ip || std::getenv("RBLSMTPD") || std::getenv("RELAYCLIENT")) return false;
  Control control(root);
  auto timeout = control.integer("timeoutdnsbl");
  if (!timeout) {
    log_error({{"event", "config"}, {"reason", timeout.error().reason}});
    return false;
  }
  // A connect that never waits: nothing listening, or a full backlog, means the wrapper.
  Fd sock = connect_unix_now(dnsbl_socket_path(root));
  const int fds[] = {2};
  std::string hello = dnsbl_hello(ip);
  if (!sock.valid()) {
    exec_wrapper(root, argc, argv, "no resident dnsbl");
    return false;
  }
  if (send_with_fds(sock.get(), hello, fds, MSG_NOSIGNAL) != static_cast<ssize_t>(hello.size())) {
    exec_wrapper(root, argc, argv, "the resident dnsbl did not take the question");
    return false;
  }
  std::string line;
  switch (read_verdict(sock.get(), static_cast<int>(*timeout) * 1000 + answer_margin_ms, line)) {
    case Got::line: break;
    case Got::gone: exec_wrapper(root, argc, argv, "the resident dnsbl went before answering"); return false;
    case Got::timeout:
      log_warn({{"event", "dnsbl"}, {"result", "timeout"}, {"ip", ip}, {"reason", "the resident dnsbl did not answer"}});
      return false;
    case Got::trouble:
      log_warn({{"event", "dnsbl"}, {"result", "fail"}, {"ip", ip}, {"reason", "the resident dnsbl's answer did not read"}});
      return false;
  }
  auto v = parse_dnsbl_verdict(line);
  if (!v) {
    log_warn({{"event", "dnsbl"}, {"result", "fail"}, {"ip", ip}, {"reason", "malformed answer from the resident dnsbl"}});
    return false;
  }
  switch (v->action) {
    case DnsblAction::pass: return false;
    case DnsblAction::allow: ::setenv("DNSWL", v->text.c_str(), 1); return false;
    case DnsblAction::block: ::setenv("RBLSMTPD", ("-" + v->text).c_str(), 1); return false;
    case DnsblAction::refuse: break;
  }
  auto me = control.line("me");
  refuse_dnsbl_session(me ? *me : std::string("localhost"), v->text);
  return true;
}

}  // namespace quail::smtpd
