// Service pid files and liveness: see service.hpp and man/quail.8 ("SERVICES").
#include "service.hpp"

#include "clock.hpp"
#include "control.hpp"

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <unistd.h>

#include "durable.hpp"
#include "fd.hpp"
#include "log.hpp"
#include "root.hpp"

namespace quail {
namespace {

void sleep_ms(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// Waits up to timeout_ms for pid to be gone (or a zombie); true when it went.
bool wait_gone(pid_t pid, int timeout_ms) {
  for (int64_t deadline = monotonic_ms() + timeout_ms;;) {
    if (!process_alive(pid)) return true;
    if (monotonic_ms() >= deadline) return false;
    sleep_ms(10);
  }
}

}  // namespace

const std::vector<std::string>& service_names() {
  static const std::vector<std::string> names = {"queue-send", "queue-inject", "mailauth", "tlsd", "dnsbl", "smtp",
                                                 "submission", "smtps", "pop3", "pop3s", "lists-http"};
  return names;
}

bool service_is_listener(std::string_view name) {
  return name != "queue-send" && name != "queue-inject" && name != "mailauth" && name != "tlsd" && name != "dnsbl";
}

const std::vector<std::string>& listener_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& n : service_names()) {
      if (service_is_listener(n)) out.push_back(n);
    }
    return out;
  }();
  return names;
}

void signal_service_ready() {
  const char* v = std::getenv("QUAIL_READY_FD");
  if (!v || !*v) return;
  std::string_view s(v);
  int fd = -1;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), fd);
  if (ec != std::errc() || p != s.data() + s.size() || fd < 3) {
    log_warn({{"event", "ready"}, {"reason", "ignoring malformed QUAIL_READY_FD=" + std::string(s)}});
    return;
  }
  (void)!::write(fd, "\n", 1);
  ::close(fd);
}

std::string service_pid_file(const std::string& root, std::string_view name) {
  return root + "/run/" + std::string(name) + ".pid";
}

std::string service_log_file(const std::string& root, std::string_view name) {
  return root + "/log/" + std::string(name) + ".log";
}

std::string service_program(const std::string& root, std::string_view name) {
  if (service_is_listener(name)) return bin_dir(root) + "/tcpserver";
  if (name == "queue-inject" || name == "mailauth" || name == "tlsd" || name == "dnsbl") {
    return bin_dir(root) + "/" + std::string(name);
  }
  // In a system install the scheduler's service process is its root spawner.
  auto system = Control(root).integer("system");
  return bin_dir(root) + (system && *system == 1 ? "/local-spawn" : "/queue-send");
}

Result<pid_t> read_pid_file(const std::string& path) {
  auto text = read_file(path, 64);
  if (!text) return text.error();
  std::string_view s = *text;
  if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  pid_t pid = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), pid);
  if (ec != std::errc() || ptr != s.data() + s.size() || pid <= 1) {
    return Error{ErrorKind::format, path + ": not a pid file"};
  }
  return pid;
}

Status write_pid_file(const std::string& path, pid_t pid) {
  return write_file_durable(path, std::to_string(pid) + "\n", 0644);
}

Status remove_pid_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return {};
    return sys_error(ErrorKind::temporary, "remove " + path);
  }
  return fsync_dir(dir_of(path));
}

Result<std::vector<std::string>> process_argv(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/cmdline", 1 << 20);
  if (!text) return text.error();
  std::vector<std::string> argv;
  size_t start = 0;
  while (start < text->size()) {
    size_t nul = text->find('\0', start);
    if (nul == std::string::npos) nul = text->size();
    argv.push_back(text->substr(start, nul - start));
    start = nul + 1;
  }
  return argv;
}

bool process_alive(pid_t pid) {
  if (pid <= 0) return false;
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!stat) return false;
  // The state follows the command name, which may itself hold ") ".
  size_t paren = stat->rfind(") ");
  if (paren == std::string::npos || paren + 2 >= stat->size()) return false;
  char state = (*stat)[paren + 2];
  return state != 'Z' && state != 'X' && state != 'x';
}

bool process_is(pid_t pid, const std::string& program) {
  auto argv = process_argv(pid);
  // A live process shows no argv for a moment while it execs (and a zombie for good).
  for (int i = 0; argv && argv->empty() && i < 50 && process_alive(pid); ++i) {
    sleep_ms(2);
    argv = process_argv(pid);
  }
  if (!argv || !process_alive(pid)) return false;
  // argv[1] when a script's interpreter runs it ("#!" makes argv[0] the interpreter).
  return (argv->size() >= 1 && (*argv)[0] == program) || (argv->size() >= 2 && (*argv)[1] == program);
}

ServiceStatus service_status(const std::string& root, std::string_view name) {
  auto pid = read_pid_file(service_pid_file(root, name));
  if (!pid) {
    if (pid.error().kind == ErrorKind::not_found) return {ServiceState::stopped, 0};
    return {ServiceState::stale, 0};
  }
  if (process_is(*pid, service_program(root, name))) return {ServiceState::running, *pid};
  return {ServiceState::stale, *pid};
}

std::string service_supervisor_pid_file(const std::string& root, std::string_view name) {
  return root + "/run/" + std::string(name) + ".supervise.pid";
}

std::string service_state_file(const std::string& root, std::string_view name) {
  return root + "/run/" + std::string(name) + ".state";
}

ServiceStatus supervisor_status(const std::string& root, std::string_view name) {
  auto pid = read_pid_file(service_supervisor_pid_file(root, name));
  if (!pid) {
    if (pid.error().kind == ErrorKind::not_found) return {ServiceState::stopped, 0};
    return {ServiceState::stale, 0};
  }
  if (process_is(*pid, bin_dir(root) + "/supervise")) return {ServiceState::running, *pid};
  return {ServiceState::stale, *pid};
}

Result<ServiceRecord> read_service_record(const std::string& root, std::string_view name) {
  std::string path = service_state_file(root, name);
  auto text = read_file(path, 128);
  if (!text) return text.error();
  ServiceRecord r;
  long child = 0;
  const char* p = text->data();
  const char* end = p + text->size();
  for (long* field : {&child, &r.since, &r.restarts}) {
    while (p < end && *p == ' ') ++p;
    auto [next, ec] = std::from_chars(p, end, *field);
    if (ec != std::errc() || *field < 0) return Error{ErrorKind::format, path + ": not a service state file"};
    p = next;
  }
  r.child = static_cast<pid_t>(child);
  return r;
}

Result<bool> stop_process(pid_t pid, int timeout_ms) {
  if (::kill(pid, SIGTERM) != 0) {
    if (errno == ESRCH) return true;
    return sys_error(ErrorKind::temporary, "signal process " + std::to_string(pid));
  }
  if (wait_gone(pid, timeout_ms)) return true;
  if (::kill(pid, SIGKILL) != 0 && errno != ESRCH) {
    return sys_error(ErrorKind::temporary, "kill process " + std::to_string(pid));
  }
  if (!wait_gone(pid, 5000)) {
    return Error{ErrorKind::temporary, "process " + std::to_string(pid) + " survived SIGKILL"};
  }
  return false;
}

}  // namespace quail
