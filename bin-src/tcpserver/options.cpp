// tcpserver's command line: see options.hpp.
#include "options.hpp"

#include <charconv>
#include <cstdlib>
#include <string_view>
#include <unistd.h>

#include "process_ids.hpp"

namespace quail::tcpserver {
namespace {

Error usage(std::string reason) { return Error{ErrorKind::permanent, std::move(reason)}; }

// A strict decimal in [min, max]: no sign, no spaces, no trailing text.
std::optional<long> number(std::string_view s, long min, long max) {
  long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < min || v > max) return std::nullopt;
  return v;
}

}  // namespace

Result<Options> parse_options(int argc, char** argv) {
  Options o;
  opterr = 0;
  int c;
  // '+': stop at the first non-option, so the program's own flags stay its own.
  while ((c = getopt(argc, argv, "+461FUXHPRqQvhprc:C:n:i:b:x:o:l:u:g:")) != -1) {
    std::string_view arg = optarg ? optarg : "";
    switch (c) {
      case '4': o.family = Family::v4; break;
      case '6': o.family = Family::v6; break;
      case '1': o.print_port = true; break;
      case 'F': o.fork_server = true; break;
      case 'X': o.rules_optional = true; break;
      // No host name, paranoia or ident lookups are ever made: these say so already.
      case 'H': case 'P': case 'R': case 'q': case 'Q': case 'v': break;
      case 'h':
        return usage("-h is not supported: tcpserver does no reverse DNS lookups "
                     "(TCPREMOTEHOST is set only by a rule's environment)");
      case 'p': return usage("-p is not supported: tcpserver does no reverse DNS lookups");
      case 'r': return usage("-r is not supported: tcpserver does no ident lookups (TCPREMOTEINFO is never set)");
      case 'c':
        if (auto v = number(arg, 1, 1000000)) o.max_sessions = *v;
        else return usage("-c wants a number from 1 to 1000000, not \"" + std::string(arg) + "\"");
        break;
      case 'C':
        if (auto v = number(arg, 0, 1000000)) o.max_per_ip = *v;
        else return usage("-C wants a number from 0 (no limit) to 1000000, not \"" + std::string(arg) + "\"");
        break;
      case 'n':
        if (auto v = number(arg, 0, 1000000)) o.max_per_net = *v;
        else return usage("-n wants a number from 0 (no limit) to 1000000, not \"" + std::string(arg) + "\"");
        break;
      case 'i':
        if (auto v = number(arg, 0, 86400)) o.evict_idle_s = *v;
        else return usage("-i wants seconds from 0 (never close an idle session) to 86400, not \"" + std::string(arg) + "\"");
        break;
      case 'b':
        if (auto v = number(arg, 1, 65535)) o.backlog = static_cast<int>(*v);
        else return usage("-b wants a number from 1 to 65535, not \"" + std::string(arg) + "\"");
        break;
      case 'x': o.rules = arg; break;
      case 'o': o.refusal = std::string(arg); break;
      case 'l':
        // ucspi-tcp's "-l 0" means: look nothing up, leave TCPLOCALHOST unset.
        if (arg == "0") o.local_name.reset();
        else o.local_name = std::string(arg);
        break;
      case 'u':
        if (auto v = parse_uid(arg)) o.uid = *v;
        else return usage("-u wants a numeric uid, not \"" + std::string(arg) + "\"");
        break;
      case 'g':
        if (auto v = parse_gids(arg)) o.groups = std::move(*v);
        else return usage("-g wants numeric gids, comma-separated, not \"" + std::string(arg) + "\"");
        o.gid = o.groups.front();
        break;
      case 'U': {
        const char* u = std::getenv("UID");
        const char* g = std::getenv("GID");
        auto uv = u ? number(u, 0, 0x7fffffff) : std::nullopt;
        auto gv = g ? number(g, 0, 0x7fffffff) : std::nullopt;
        if (!uv || !gv) return usage("-U wants numeric $UID and $GID in the environment");
        o.uid = static_cast<uid_t>(*uv);
        o.gid = static_cast<gid_t>(*gv);
        o.groups = {*o.gid};
        break;
      }
      default:
        if (optopt == 'c' || optopt == 'C' || optopt == 'n' || optopt == 'i' || optopt == 'b' || optopt == 'x' || optopt == 'o' || optopt == 'l' ||
            optopt == 'u' || optopt == 'g') {
          return usage(std::string("-") + static_cast<char>(optopt) + " wants an argument");
        }
        return usage(std::string("unknown option -") + static_cast<char>(optopt));
    }
  }
  if (argc - optind < 3) return usage("host, port and program are required");
  o.host = argv[optind];
  o.port = argv[optind + 1];
  for (int i = optind + 2; i < argc; ++i) o.program.emplace_back(argv[i]);
  if (o.program[0].empty()) return usage("the program name is empty");
  if (o.refusal && o.refusal->find_first_of("\r\n") != std::string::npos) {
    return usage("-o text must be one line (tcpserver adds the CRLF)");
  }
  return o;
}

}  // namespace quail::tcpserver
