// logfmt logging: one event per line on fd 2, `prog=<name> level=<l> key=value ...`.
// Values are quoted when needed, non-printables become \xNN, each value is capped.
// Callers never pass a password, AUTH data, or a message body (see man/quail-log.5).
#pragma once
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
// Sets the fd lines go to (default 2).
void log_set_fd(int fd);
// Writes one line at level "info", "warn", "error" or "debug", in one write(2).
void log_event(std::string_view level, std::initializer_list<LogField> fields);
inline void log_info(std::initializer_list<LogField> f) { log_event("info", f); }
inline void log_warn(std::initializer_list<LogField> f) { log_event("warn", f); }
inline void log_error(std::initializer_list<LogField> f) { log_event("error", f); }

// Formats one value as logfmt would write it (exposed for tests).
std::string log_quote(std::string_view value);

}  // namespace quail
