// Which installation a program serves: --root DIR, else $QUAIL_ROOT, else the
// compiled default. A set-id process ignores the environment (DESIGN.md, "The root").
#pragma once
#include <string>

namespace quail {

inline constexpr const char* default_root = "/var/quail";

// The root to use; `flag` is the value of --root or nullptr. A set-id process
// ignores both and uses the root its executable lives in (ROOT/bin/<program>):
// DESIGN.md's "compiled-in root" made per-installation, so one build serves many.
std::string resolve_root(const char* flag);
// The directory holding the programs: ROOT/bin if it exists, else the directory
// of the running executable (a build tree), so programs find their siblings.
std::string bin_dir(const std::string& root);

}  // namespace quail
