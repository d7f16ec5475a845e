// What the administrator's tools (quail and quail-<command>) share: their exit
// codes, the root they act on, and one-line messages on stderr. Spec: man/quail.8.
// These tools talk to a person, so messages are plain "quail <cmd>: ..." lines.
#pragma once
#include <string>
#include <string_view>

#include "result.hpp"

namespace quail::admin {

// Exit codes of every quail-<command> (STYLE.md, "Exit codes"; man/quail.8).
inline constexpr int ok = 0;
inline constexpr int no = 1;           // the answer is no: a problem found, a user exists or is missing
inline constexpr int usage = 100;      // usage error or a permanent problem (bad control file)
inline constexpr int temporary = 111;  // try again: I/O trouble, a service that did not start

// The answer to --help: the usage text on fd 1, exit 0 (ok), or temporary when fd 1 fails.
int help(std::string_view usage_text);
// True when an argument before any "--" is --help or -h: the command then answers
// help(its usage) and does nothing else (man/quail.8: every command answers --help).
bool asks_help(int argc, char** argv);
// Prints "quail <command>: <message>\n" on fd 2 in one write.
void say(std::string_view command, std::string_view message);
// The exit code for a lib error: config, format, permanent, too_long, not_found -> 100; else 111.
int exit_code(ErrorKind kind);

// The root named by --root (flag, may be null), else $QUAIL_ROOT, else /var/quail,
// made absolute against the working directory (not resolved: it may not exist yet).
std::string absolute_root(const char* flag);
// The canonical path (realpath) of an initialised root: one holding control/ and
// queue/. permanent error otherwise, naming --root, $QUAIL_ROOT and quail init.
Result<std::string> open_root(const char* flag);

// Parses the arguments of a command that takes nothing but --root and opens the
// root into *root. admin::ok, or the exit code after saying why ("usage: quail <command>").
int root_only_arguments(std::string_view command, int argc, char** argv, std::string* root);

}  // namespace quail::admin
