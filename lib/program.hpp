// The shared runner every program's main goes through: names the program for
// logs, ignores SIGPIPE and SIGXFSZ, makes sure fds 0-2 are open, and turns out-of-memory and
// unexpected exceptions into the program's own exit codes.
#pragma once
#include <functional>
#include <string_view>

namespace quail {

struct ExitCodes {
  int no_memory;  // exit code for std::bad_alloc
  int internal;   // exit code for any other escaped exception
};

int run_main(std::string_view name, ExitCodes codes, const std::function<int()>& body);

}  // namespace quail
