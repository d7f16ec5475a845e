// quail: the administrator's front end. `quail [--root DIR] <command> [args]` execs
// quail-<command> from the directory of this binary (git style), passing the root
// as `--root DIR` and in $QUAIL_ROOT. See man/quail.8. Trusts only its own directory.
#include <cerrno>
#include <cstring>
#include <getopt.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "fd.hpp"
#include "program.hpp"
#include "service_cli.hpp"

namespace {

constexpr std::string_view usage_text =
    "usage: quail [--root DIR] <command> [args]\n"
    "commands:\n"
    "  init --hostname H --domain D [--domain D...] [--system]   create a new root\n"
    "  user add|del|passwd|disable|enable ADDRESS | user list     virtual users\n"
    "  up [--smtp A:P] [--submission A:P] [--smtps A:P] [--pop3 A:P] [--pop3s A:P]\n"
    "  down | status                                              stop / show services\n"
    "  queue                                                      list queued messages\n"
    "  check [--repair]                                           verify the queue\n"
    "  homes                                                      refresh the home table now (system install, root)\n"
    "  list create|destroy|show|subscribers|add|remove LIST@DOMAIN mailing lists (quail-list(8))\n"
    "the root is --root, else $QUAIL_ROOT, else /var/quail; see quail(8)\n";

int usage(bool asked) {
  (void)quail::write_all(asked ? 1 : 2, usage_text);
  return asked ? quail::admin::ok : quail::admin::usage;
}

// The directory of the running executable: commands come from the same build or install.
std::string self_dir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.rfind('/'));
}

bool valid_command(const std::string& c) {
  if (c.empty() || c.front() == '-') return false;
  for (char ch : c) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) return false;
  }
  return true;
}

int dispatch(int argc, char** argv) {
  static const option longopts[] = {{"root", required_argument, nullptr, 'r'}, {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  const char* root_flag = nullptr;
  opterr = 0;
  int c;
  // "+": stop at the command; its own options are its program's to parse.
  while ((c = getopt_long(argc, argv, "+r:h", longopts, nullptr)) != -1) {
    if (c == 'r') root_flag = optarg;
    else if (c == 'h') return usage(true);
    else return usage(false);
  }
  if (optind >= argc) return usage(false);
  std::string command = argv[optind];
  if (command == "help") return usage(true);
  std::string program = self_dir() + "/quail-" + command;
  struct stat st;
  if (!valid_command(command) || ::stat(program.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    quail::admin::say(command, "unknown command");
    return usage(false);
  }
  std::string root = quail::admin::absolute_root(root_flag);
  std::vector<std::string> args = {program, "--root", root};
  for (int i = optind + 1; i < argc; ++i) args.emplace_back(argv[i]);
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  ::setenv("QUAIL_ROOT", root.c_str(), 1);
  ::execv(program.c_str(), cargs.data());
  quail::admin::say(command, "unable to run " + program + ": " + std::strerror(errno));
  return quail::admin::temporary;
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("quail", {quail::admin::temporary, quail::admin::temporary},
                         [&] { return dispatch(argc, argv); });
}
