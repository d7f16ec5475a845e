// Result<T>: a value or an Error (kind + reason). lib/ never exits; a program maps
// an Error's kind to its own exit code (STYLE.md, "A program's main").
#pragma once
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace quail {

// Kinds of failure shared by the whole library. Programs map them to exit codes.
enum class ErrorKind {
  temporary,      // try again later: resources, I/O trouble, a child that crashed
  permanent,      // the request itself is bad and will stay bad
  config,         // a control file is malformed
  io_read,        // cannot read input
  io_write,       // cannot write (disk full, EIO)
  no_memory,
  format,         // malformed input in a documented format
  too_long,       // an address or line over its limit
  not_found,
};

struct Error {
  ErrorKind kind = ErrorKind::temporary;
  std::string reason;  // "unable to <verb> <object>: <strerror>"
};

// Error from errno: `what` is "open queue/todo/123" (the verb and object).
inline Error sys_error(ErrorKind kind, const std::string& what, int err = errno) {
  return Error{kind, "unable to " + what + ": " + std::strerror(err)};
}

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error e) : v_(std::move(e)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T& operator*() & { return value(); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
template <>
class Result<void> {
 public:
  Result() = default;
  Result(Error e) : e_(std::move(e)) {}
  bool ok() const { return !e_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *e_; }

 private:
  std::optional<Error> e_;
};

using Status = Result<void>;

}  // namespace quail
