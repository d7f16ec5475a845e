// tcpserver: accept TCP connections on one address and run a program for each,
// with the UCSPI environment, tcprules access rules and concurrency limits.
// See man/tcpserver.8. Arguments, inherited sockets and the rules cdb are checked.
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <grp.h>
#include <optional>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd.hpp"
#include "process_ids.hpp"
#include "listener.hpp"
#include "log.hpp"
#include "options.hpp"
#include "program.hpp"
#include "server.hpp"

namespace {

using namespace quail::tcpserver;

int usage_error(const std::string& reason) {
  quail::log_error({{"event", "usage"}, {"reason", reason}});
  quail::write_all(2, std::string(usage_text) + "\n");
  return exit_usage;
}

int fail(const quail::Error& e) {
  quail::log_error({{"event", "fatal"}, {"reason", e.reason}});
  return e.kind == quail::ErrorKind::permanent ? exit_usage : exit_trouble;
}

bool executable(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// The program as a path: itself when it holds a '/', else the first executable
// in $PATH. Found once at start, so a typo fails here and not per connection.
std::optional<std::string> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return executable(name) ? std::optional(name) : std::nullopt;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  for (;;) {
    size_t colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (executable(candidate)) return candidate;
    if (colon == std::string_view::npos) return std::nullopt;
    dirs.remove_prefix(colon + 1);
  }
}

// Tells whoever waits that connections are taken from now on: `quail up` through
// QUAIL_READY_FD (one "\n", then closed), a script through -1 (the port on fd 1).
void announce_ready(const Options& o, const Listener& l) {
  if (o.print_port) quail::write_all(1, std::to_string(l.port) + "\n");
  const char* ready = std::getenv("QUAIL_READY_FD");
  if (!ready) return;
  int fd = -1;
  std::string_view s(ready);
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), fd);
  if (ec != std::errc() || end != s.data() + s.size() || fd < 0 || !quail::write_all(fd, "\n")) {
    quail::log_warn({{"event", "ready_failed"}, {"reason", "QUAIL_READY_FD=" + std::string(s) + " is not writable"}});
    return;
  }
  ::close(fd);
}

// tcpserver keeps each session's connection until the session is reaped (its
// limits count connections still open), up to twice -c of them: raise the soft
// limit on descriptors (a shell leaves 1024) when -c needs more, up to the hard
// one. Under a hard limit too low for -c, -c is lowered to what fits and the
// log says so: accepting would otherwise fail with EMFILE at random, once the
// descriptors run out, instead of refusing politely at a known count.
void fit_fd_limit(Options& o) {
  constexpr rlim_t reserve = 64;  // the listener, signalfd, log, rules cdb, spawning
  rlimit rl;
  rlim_t need = static_cast<rlim_t>(2 * o.max_sessions) + reserve;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need) return;
  rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
  (void)::setrlimit(RLIMIT_NOFILE, &rl);
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need) return;
  long fits = rl.rlim_cur > reserve + 2 ? static_cast<long>((rl.rlim_cur - reserve) / 2) : 1;
  quail::log_warn({{"event", "fd_limit"}, {"nofile", static_cast<long>(rl.rlim_cur)}, {"asked", o.max_sessions},
                   {"limit", fits}});
  o.max_sessions = fits;
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("tcpserver", {exit_trouble, exit_trouble}, [&] {
    auto opt = parse_options(argc, argv);
    if (!opt) return usage_error(opt.error().reason);
    auto program = find_program(opt->program[0]);
    if (!program) return usage_error("unable to find program " + opt->program[0] + ": not an executable file");
    fit_fd_limit(*opt);
    auto signals = block_signals();  // before listening, so no SIGTERM is lost
    if (!signals) return fail(signals.error());
    auto listener = open_listener(*opt);  // bound here, or inherited (socket activation)
    if (!listener) return fail(listener.error());
    // -g then -u, after binding (a port under 1024 needs root) and before any session.
    if (auto s = quail::drop_privileges(opt->uid, opt->groups); !s) return fail(s.error());
    announce_ready(*opt, *listener);
    Server server(*opt, std::move(*listener), std::move(*signals), std::move(*program));
    return server.run();  // until SIGTERM, then until the last session ends
  });
}
