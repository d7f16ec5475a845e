// Services started by `quail up`: their names, pid files in ROOT/run, log files in
// ROOT/log, and whether a pid file names a live process that really is that service.
// Spec: man/quail.8. Trusts nothing in ROOT/run: /proc is asked before any signal.
#pragma once
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "result.hpp"

namespace quail {

// Every service `quail up` may start, in start order: queue-send, queue-inject
// (the resident injector of a system install), the resident helpers (mailauth,
// tlsd, dnsbl), then listeners. `quail down`
// stops them in the reverse order (listeners first, queue-send last).
const std::vector<std::string>& service_names();
// True for the services that listen on a TCP port (all but the first five).
bool service_is_listener(std::string_view name);
// The listeners of service_names(), in its order (quail up's --<service> flags).
const std::vector<std::string>& listener_names();

std::string service_pid_file(const std::string& root, std::string_view name);
// Tells `quail up` (through supervise) that the service is ready: one "\n" on
// $QUAIL_READY_FD, then closed. Nothing when unset; a malformed value is logged.
void signal_service_ready();
std::string service_log_file(const std::string& root, std::string_view name);
// The program a service's process runs (argv[0] as `quail up` executes it):
// bin/queue-send for queue-send (bin/local-spawn in a system install),
// bin/queue-inject for queue-inject, bin/tcpserver for every listener.
std::string service_program(const std::string& root, std::string_view name);

// Reads a pid file ("<pid>\n"): not_found when missing, format when it holds no pid.
Result<pid_t> read_pid_file(const std::string& path);
// Writes a pid file durably (write, fsync, rename, fsync ROOT/run).
Status write_pid_file(const std::string& path, pid_t pid);
// Removes a pid file and fsyncs its directory; a missing file is no error.
Status remove_pid_file(const std::string& path);

// The argv of a process (/proc/<pid>/cmdline); not_found when it is gone. Empty
// for a zombie, a kernel thread, and briefly for a process in the middle of execve.
Result<std::vector<std::string>> process_argv(pid_t pid);
// True when pid exists and is not a zombie.
bool process_alive(pid_t pid);
// True when pid is alive and was started as `program` (argv[0], the exact path, or
// argv[1] when an interpreter runs `program` as a script):
// a pid reused by another program, or by the same program of another root, does not match.
bool process_is(pid_t pid, const std::string& program);

enum class ServiceState { stopped, running, stale };
struct ServiceStatus {
  ServiceState state = ServiceState::stopped;
  pid_t pid = 0;  // from the pid file; 0 when there is none
};
// stopped: no pid file; stale: the pid file names no live process of the
// service's program (dead, or the pid was reused); running otherwise.
ServiceStatus service_status(const std::string& root, std::string_view name);

// Sends SIGTERM and waits up to timeout_ms for pid to go; then SIGKILL and waits
// briefly. Returns true when TERM sufficed, false when KILL was needed; temporary
// error when the process could not be signalled or survived KILL.
Result<bool> stop_process(pid_t pid, int timeout_ms);

// Supervision (man/supervise.8): `quail up` runs each service as
// `supervise SERVICE PROGRAM...`, whose pid is in run/<name>.supervise.pid;
// supervise keeps run/<name>.pid (its child) and run/<name>.state up to date.
std::string service_supervisor_pid_file(const std::string& root, std::string_view name);
std::string service_state_file(const std::string& root, std::string_view name);
// The supervise process of a service, like service_status for the service itself.
ServiceStatus supervisor_status(const std::string& root, std::string_view name);
struct ServiceRecord {
  pid_t child = 0;     // 0 while supervise waits to restart it
  long since = 0;      // unix time of the child's start (or of its exit when child is 0)
  long restarts = 0;   // restarts since supervise started
};
// Reads run/<name>.state; not_found when missing, format when malformed.
Result<ServiceRecord> read_service_record(const std::string& root, std::string_view name);

}  // namespace quail
