// logfmt logging: one event per line on fd 2, `prog=<name> level=<l> key=value ...`.
// Values are quoted when needed, non-printables become \xNN, each value is capped.
// Callers never pass a password, AUTH data, or a message body (see man/quail-log.5).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace quail {

struct LogField {
  std::string_view key;
  std::string value;
  LogField(std::string_view k, std::string v) : key(k), value(std::move(v)) {}
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  template <typename N>
    requires std::is_arithmetic_v<N>
  LogField(std::string_view k, N n) : key(k), value(std::to_string(n)) {}
};

// Sets the name every line starts with (prog=...). Called once by the program's runner.
void log_set_program(std::string_view name);
// While it lives, lines carry another program's name and go where ours go: the
// code of queue-inject that smtpd runs in its own process (lib/inject_local.hpp)
// logs as queue-inject, as that program would.
class LogAs {
 public:
  explicit LogAs(std::string_view name);
  ~LogAs();
  LogAs(const LogAs&) = delete;
  LogAs& operator=(const LogAs&) = delete;

 private:
  std::string saved_;
};
// Adds ts=<UTC time, microseconds> after level= on lines written to a file
// descriptor (syslog stamps its own). run_main turns it on; tests leave it off.
void log_set_timestamps(bool on);
// Sets the fd lines go to (default 2). -1 silences the log.
void log_set_fd(int fd);
// Writes one line at level "info", "warn", "error" or "debug", in one write(2) -- or,
// when the log fd is the peer's socket (inetd), as one syslog record on /dev/log
// (see log_sink_for).
void log_event(std::string_view level, std::initializer_list<LogField> fields);
inline void log_info(std::initializer_list<LogField> f) { log_event("info", f); }
inline void log_warn(std::initializer_list<LogField> f) { log_event("warn", f); }
inline void log_error(std::initializer_list<LogField> f) { log_event("error", f); }

// For the commands a person types (sendmail, inject, mailq): when the log fd is a
// terminal and $QUAIL_LOG is not "logfmt", a warn or error line is written as
// the sentence "<prog>: <reason>" and an info line not at all. A log file, pipe
// or socket gets logfmt as always.
void log_set_person(bool on);
// The sentence log_set_person writes for one event ("" for info and debug); for tests.
std::string log_sentence(std::string_view program, std::string_view level, std::initializer_list<LogField> fields);

// Formats one value as logfmt would write it (exposed for tests).
std::string log_quote(std::string_view value);

// Where the lines meant for fd `err` go. syslog when `err` is a socket that is
// the same socket as `in` or `out` (inetd hands the connection over as fds 0, 1
// and 2), or an AF_INET/AF_INET6 socket (a network peer never reads our log).
// Any other fd -- a log file, a pipe, a local socket to a log collector --
// keeps the lines. Decided once, at the first line after log_set_program or
// log_set_fd; exposed for tests, which pass their own fds.
enum class LogSink { fd, syslog };
LogSink log_sink_for(int err, int in = 0, int out = 1);
// The syslog(3) priority of a level: LOG_INFO, LOG_WARNING, LOG_ERR, LOG_DEBUG.
int log_syslog_priority(std::string_view level);
// The record sent to /dev/log for one line: "<facility|priority>ident[pid]: line",
// LOG_MAIL, without a timestamp (the daemon stamps it; see log.cpp). For tests.
std::string log_syslog_record(int priority, std::string_view ident, long pid, std::string_view line);
// "YYYY-MM-DDThh:mm:ss.uuuuuuZ" for a Unix time (what ts= holds). For tests.
std::string log_utc_timestamp(int64_t seconds, long micros);
// Replaces the /dev/log writer for tests (nullptr restores it); the line has no newline.
using LogSyslogWriter = void (*)(int priority, std::string_view line);
void log_set_syslog_writer(LogSyslogWriter writer);

}  // namespace quail
