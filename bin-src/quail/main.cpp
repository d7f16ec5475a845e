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

// Every command, one line each, in the order of quail(8) (a test compares them).
constexpr std::string_view usage_text =
    "usage: quail [--root DIR] <command> [args]    (--root may also follow the command)\n"
    "commands:\n"
    "  init      create a new root: --hostname H --domain D [--domain D...] [--system]\n"
    "  user      virtual users: add|del|passwd|disable|enable USER@DOMAIN, list [-v]\n"
    "  up        start the services: [--smtp A:P] [--submission A:P] [--smtps A:P] [--pop3 A:P] [--pop3s A:P]\n"
    "  down      stop the services\n"
    "  status    show the services\n"
    "  reload    check control/ and the tables, rebuild stale ones, HUP queue-send\n"
    "  config    config check: every setting in effect and where it comes from\n"
    "  queue     the queue: list, show ID, retry ID|all, delete ID|--all-to D [--bounce], hold ID, release ID\n"
    "  check     verify the queue's invariants [--repair]\n"
    "  homes     refresh the home table now (system install, root)\n"
    "  list      mailing lists: create|destroy|show|subscribers|add|remove LIST@DOMAIN\n"
    "  aliases   compile control/aliases into users/aliases.cdb\n"
    "  rules     compile control/rules.SERVICE into its cdb: SERVICE | --all\n"
    "  dkim      DKIM keys and checks: keygen DOMAIN [--selector S] [--rsa-bits N], show [DOMAIN], verify|sign\n"
    "  grey      greylisting state: list, allow NET [SECONDS], purge\n"
    "  limits    rate-limit counters: show\n"
    "`quail COMMAND --help` shows a command's usage; `quail --version` the version.\n"
    "The root is --root, else $QUAIL_ROOT, else /var/quail; see quail(8).\n";

// The release this build is; there is no other version number to keep in step.
constexpr std::string_view version_text = "quail 0.1 (development)\n";

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
                                    {"version", no_argument, nullptr, 'V'}, {nullptr, 0, nullptr, 0}};
  const char* root_flag = nullptr;
  opterr = 0;
  int c;
  // "+": stop at the command; its own options are its program's to parse.
  while ((c = getopt_long(argc, argv, "+r:h", longopts, nullptr)) != -1) {
    if (c == 'r') root_flag = optarg;
    else if (c == 'h') return usage(true);
    else if (c == 'V') return quail::write_all(1, version_text) ? quail::admin::ok : quail::admin::temporary;
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
  // --root after the command counts as well (quail user add --root DIR ...): it
  // is taken out here, so the command and $QUAIL_ROOT see one root.
  std::vector<std::string> rest;
  for (int i = optind + 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      for (; i < argc; ++i) rest.emplace_back(argv[i]);
      break;
    }
    if (a == "--root" && i + 1 < argc) root_flag = argv[++i];
    else if (a.starts_with("--root=")) root_flag = argv[i] + 7;
    else rest.emplace_back(a);
  }
  std::string root = quail::admin::absolute_root(root_flag);
  std::vector<std::string> args = {program, "--root", root};
  for (auto& a : rest) args.push_back(std::move(a));
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
