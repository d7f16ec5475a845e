// What a delivery child of local-spawn starts with (its environment) and what its
// ending means (the reply to the scheduler). Pure functions, unit-tested
// (tests/unit/local_spawn_test.cpp). Contract: man/local-spawn.8, INTERFACE.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lspawn.hpp"

namespace quail {

// The PATH a delivery gets when local-spawn switches users (and when its own has none).
inline constexpr std::string_view default_delivery_path = "/usr/local/bin:/usr/bin:/bin";

// The whole environment of a delivery: QUAIL_ROOT and PATH, what an exec'd
// local-deliver got. Switching users, PATH is the fixed default; running as
// itself (user "-"), local-spawn's own PATH and QUEUE_PROGRAM are kept, as the
// invoking user's instance expects (nullptr = unset).
std::vector<std::string> delivery_environment(const std::string& root, bool switching_users, const char* path,
                                              const char* queue_program);

// The reply for a delivery child that ended with wstatus (waitpid's) after
// writing output on its reason pipe: its code and first line when it exited
// 0, 99, 100 or 111; 111 for a signal or any other code (never permanent).
LspawnReply reply_for(uint64_t dlv, int wstatus, std::string_view output);

}  // namespace quail
