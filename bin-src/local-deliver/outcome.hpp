// local-deliver's exit codes (the contract with queue-send, DESIGN.md) and the
// outcome of one delivery instruction. Every reason ends in its RFC 3463 code.
#pragma once
#include <string>

#include "result.hpp"

namespace quail::ld {

inline constexpr int exit_delivered = 0;
inline constexpr int exit_stop = 99;  // delivered; later lines skipped (program lines only)
inline constexpr int exit_permanent = 100;
inline constexpr int exit_temporary = 111;

enum class StepKind { ok, stop, permanent, temporary };

struct Step {
  StepKind kind = StepKind::ok;
  std::string reason;  // "... (#5.1.1)"; empty for ok
  bool failed() const { return kind == StepKind::permanent || kind == StepKind::temporary; }
};

inline Step ok_step() { return {}; }
inline Step temporary(const std::string& why, const char* code = "4.3.0") {
  return {StepKind::temporary, why + " (#" + code + ")"};
}
inline Step permanent(const std::string& why, const char* code) {
  return {StepKind::permanent, why + " (#" + code + ")"};
}
// A lib error as a temporary step: our own trouble never bounces.
inline Step temporary(const Error& e, const char* code = "4.3.0") { return temporary(e.reason, code); }

}  // namespace quail::ld
