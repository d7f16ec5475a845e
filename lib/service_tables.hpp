// The tables `quail up` and `quail reload` keep fresh: control/rules.<service>
// (compiled by quail-rules into rules.<service>.cdb) and control/aliases
// (compiled by quail-aliases into users/aliases.cdb). A table is stale when its
// cdb is missing or older than its text. Spec: man/quail-up.8, man/quail-reload.8.
#pragma once
#include <string>
#include <vector>

#include "result.hpp"

namespace quail {

// Recompiles control/rules.<service> when stale. Returns a warning to show (""
// when none, e.g. no rules file); *compiled tells whether it ran the compiler.
// permanent error when the rules do not compile (the old cdb stays).
Result<std::string> refresh_rules(const std::string& root, const std::string& service, bool* compiled = nullptr);
// The same for control/aliases and users/aliases.cdb.
Result<std::string> refresh_aliases(const std::string& root, bool* compiled = nullptr);

// The names in ROOT/control/ that quail does not read (not in the control
// registry, not rules.<service> or its cdb), sorted: a misspelt file such as
// maxrcpts is otherwise silently ignored. Empty when control/ cannot be read.
std::vector<std::string> unknown_control_files(const std::string& root);

}  // namespace quail
