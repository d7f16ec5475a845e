// |program delivery (qmail-command(8)): /bin/sh -c command, the message on
// stdin, the environment qmail-local gives, a time limit, and the exit code
// read the way qmail-local reads it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "outcome.hpp"

namespace quail::ld {

// The default of control/timeoutprogram.
inline constexpr int program_timeout_seconds = 3600;

struct ProgramRun {
  std::string command;
  int stdin_fd = -1;              // the message (rewound before the start)
  std::string cwd;                // the home directory (local-deliver has chdir'ed there)
  std::vector<std::string> env;   // the complete environment
  int64_t timeout_seconds = program_timeout_seconds;  // control/timeoutprogram
};

// Runs the command and maps its ending: 0 ok, 99 stop, 100 and
// 64/65/70/76/77/78/112 permanent, any other code, a signal or the time limit
// temporary. The program's output (stdout and stderr, first 1000 bytes, on one
// line) becomes the reason.
Step run_program(const ProgramRun& run);

// The step for an exit status (exposed for tests): code, or signal when signaled.
Step program_step(bool signaled, int code, const std::string& output);

}  // namespace quail::ld
