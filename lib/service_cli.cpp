// Shared pieces of the administrator's tools: see service_cli.hpp.
#include "service_cli.hpp"

#include <getopt.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <sys/stat.h>
#include <unistd.h>

#include "fd.hpp"
#include "root.hpp"

namespace quail::admin {

void say(std::string_view command, std::string_view message) {
  std::string line = "quail " + std::string(command) + ": " + std::string(message) + "\n";
  (void)write_all(2, line);
}

int help(std::string_view usage_text) { return write_all(1, usage_text) ? ok : temporary; }

bool asks_help(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") return false;
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

int exit_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::config:
    case ErrorKind::format:
    case ErrorKind::permanent:
    case ErrorKind::too_long:
    case ErrorKind::not_found:
      return usage;
    default:
      return temporary;
  }
}

std::string absolute_root(const char* flag) {
  std::string root = resolve_root(flag);
  if (!root.empty() && root.front() != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd)) root = std::string(cwd) + "/" + root;
  }
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root;
}

Result<std::string> open_root(const char* flag) {
  std::string root = absolute_root(flag);
  char real[PATH_MAX];
  // Where the root came from, so the message says what to change.
  const char* env = std::getenv("QUAIL_ROOT");
  const std::string from = flag ? "named by --root" : (env && *env) ? "named by QUAIL_ROOT" : "the default";
  const std::string hint = ": give the root with --root DIR or QUAIL_ROOT=DIR, or make one with quail init";
  if (!::realpath(root.c_str(), real)) {
    if (errno == ENOENT) return Error{ErrorKind::not_found, "no quail root at " + root + " (" + from + ")" + hint};
    return sys_error(ErrorKind::temporary, "open root " + root);
  }
  std::string r = real;
  struct stat st;
  if (::stat((r + "/control").c_str(), &st) != 0 || ::stat((r + "/queue").c_str(), &st) != 0) {
    return Error{ErrorKind::permanent,
                 r + " (" + from + ") is not a quail root, having no control/ or queue/" + hint};
  }
  return r;
}

int root_only_arguments(std::string_view command, int argc, char** argv, std::string* root) {
  static const option longopts[] = {{"root", required_argument, nullptr, 'r'}, {nullptr, 0, nullptr, 0}};
  const char* root_flag = nullptr;
  opterr = 0;
  bool bad = false;
  for (int c; (c = getopt_long(argc, argv, "", longopts, nullptr)) != -1;) {
    if (c == 'r') root_flag = optarg;
    else bad = true;
  }
  if (bad || optind != argc) {
    say(command, "usage: quail " + std::string(command));
    return usage;
  }
  auto opened = open_root(root_flag);
  if (!opened) {
    say(command, opened.error().reason);
    return exit_code(opened.error().kind);
  }
  *root = std::move(*opened);
  return ok;
}

}  // namespace quail::admin
