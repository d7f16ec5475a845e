// One POP3 command line (RFC 1939, RFC 2449, RFC 5034), split and checked: the
// keyword (case-insensitive) and its arguments, message numbers as numbers. Used
// by pop3d before and after login; trusts nothing (tests/fuzz/pop3_command_fuzz).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace quail {

// The longest command line pop3d reads, CRLF included: RFC 2449's 255 octets, and
// room for an AUTH PLAIN initial response of a 512-byte login (RFC 5034 4).
inline constexpr size_t max_pop3_line = 1024;

enum class Pop3Verb { user, pass, auth, capa, quit, stat, list, uidl, retr, dele, top, rset, noop, stls, unknown };

struct Pop3Command {
  Pop3Verb verb = Pop3Verb::unknown;
  std::string keyword;  // as sent, uppercased (for an unknown command's log line)
  std::string arg;      // USER, PASS: everything after the first space; AUTH: the mechanism
  std::string initial;  // AUTH: the initial response, "" when none
  std::optional<uint32_t> n;  // LIST, UIDL, RETR, DELE, TOP: the message number
  uint32_t lines = 0;         // TOP: the body lines
};

enum class Pop3Parse { ok, unknown, syntax };

// Parses one line (without its line end). unknown: not a command we know;
// syntax: a known command with missing, extra or malformed arguments.
Pop3Parse parse_pop3_command(std::string_view line, Pop3Command& out);

}  // namespace quail
