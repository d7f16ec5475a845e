// tcpserver's command line: ucspi-tcp's flags where they overlap, strict numbers,
// and the flags that would need DNS or ident refused by name. See man/tcpserver.8.
#pragma once
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "result.hpp"

namespace quail::tcpserver {

inline constexpr int exit_usage = 100;    // bad arguments, unusable host/port/program
inline constexpr int exit_trouble = 111;  // cannot listen, cannot set up, internal

inline constexpr const char* usage_text =
    "usage: tcpserver [-461FUXHPRqQv] [-c limit] [-C perip] [-n pernet] [-i idle] [-b backlog] [-x rules.cdb] [-o refusal-text]"
    " [-l localname] [-u uid] [-g gid[,gid...]] host port program [arg ...]";

enum class Family { any, v4, v6 };

struct Options {
  Family family = Family::any;
  long max_sessions = 40;  // -c: sessions at once
  long max_per_ip = 0;     // -C: sessions at once per client address; 0 = no limit
  long max_per_net = 0;    // -n: sessions at once per IPv4 /24 or IPv6 /64; 0 = no limit
  long evict_idle_s = 0;   // -i: at -c, close a session idle this long for a newcomer; 0 = never
  int backlog = 256;       // -b
  std::string rules;       // -x: rules cdb, looked up per connection
  bool rules_optional = false;             // -X: a missing rules cdb allows everyone
  std::optional<std::string> refusal;      // -o: said (plus CRLF) to a client over a limit
  std::optional<std::string> local_name;   // -l: TCPLOCALHOST
  std::optional<uid_t> uid;                // -u / -U
  std::optional<gid_t> gid;                // -g / -U
  std::vector<gid_t> groups;               // -g's supplementary groups: gid first, then the rest of its list
  bool print_port = false;                 // -1: print the local port on fd 1
  bool fork_server = false;                // -F: the program is started once, as a fork server (lib/fork_server.hpp)
  std::string host;
  std::string port;
  std::vector<std::string> program;        // program and its arguments
};

// The options, or a permanent error whose reason is shown after "usage:" trouble.
Result<Options> parse_options(int argc, char** argv);

}  // namespace quail::tcpserver
