// inject: read a message on fd 0 and queue it for the recipients named (or, with
// -t, those of its header). A lone "." never ends the input. See man/inject.8.
#include <string>
#include <unistd.h>

#include "log.hpp"
#include "program.hpp"
#include "root.hpp"
#include "submit.hpp"

namespace {

constexpr const char* usage =
    "inject [--root DIR] [-t] [-i] [-f sender] [-F fullname] [-N notify] [-R ret] [-V envid] [recipient ...]";

int run(int argc, char** argv) {
  namespace s = quail::submit;
  auto root = s::root_flag(argc, argv);
  if (root.missing) return s::usage_error("--root needs a directory", usage);
  argc -= root.taken;
  argv += root.taken;

  s::Options opt;
  opt.root = quail::resolve_root(root.root.empty() ? nullptr : root.root.c_str());
  opterr = 0;
  int c;
  while ((c = getopt(argc, argv, "+:tif:F:N:R:V:")) != -1) {
    switch (c) {
      case 't': opt.extract = true; break;
      case 'i': break;  // the default here: accepted for sendmail habits
      case 'f':
        opt.sender_given = true;
        opt.sender = optarg;
        break;
      case 'F': opt.full_name = optarg; break;
      case 'N': {
        auto n = s::check_notify(optarg);
        if (!n) return s::usage_error(n.error().reason, usage);
        opt.notify = *n;
        break;
      }
      case 'R': {
        auto r = s::check_ret(optarg);
        if (!r) return s::usage_error(r.error().reason, usage);
        opt.ret = *r;
        break;
      }
      case 'V': opt.envid = optarg; break;
      case ':': return s::usage_error(std::string("option needs a value: -") + static_cast<char>(optopt), usage);
      default: return s::usage_error(std::string("unknown option: -") + static_cast<char>(optopt), usage);
    }
  }
  for (int i = optind; i < argc; ++i) opt.recipients.emplace_back(argv[i]);
  return s::submit(opt);
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("inject", {quail::submit::exit_temporary, quail::submit::exit_temporary}, [&] {
    quail::log_set_person(true);  // plain sentences on a terminal, logfmt elsewhere
    return run(argc, argv);
  });
}
