// Stale tables and their compilers: see service_tables.hpp.
#include "service_tables.hpp"

#include <algorithm>
#include <dirent.h>
#include <sys/stat.h>

#include "control.hpp"
#include "root.hpp"
#include "service.hpp"
#include "spawn.hpp"

namespace quail {
namespace {

bool older(const struct stat& a, const struct stat& b) {
  return a.st_mtim.tv_sec < b.st_mtim.tv_sec ||
         (a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec < b.st_mtim.tv_nsec);
}

// name: the text file relative to the root, for messages; tool: the compiler's
// argv (argv[0] in bin/); its messages (file and line of a fault) go to our stderr.
Result<std::string> refresh(const std::string& root, const std::string& name, const std::string& cdb,
                            const std::vector<std::string>& tool, bool* compiled) {
  if (compiled) *compiled = false;
  struct stat ts, cs;
  if (::stat((root + "/" + name).c_str(), &ts) != 0) return std::string();
  bool have_cdb = ::stat(cdb.c_str(), &cs) == 0;
  if (have_cdb && !older(cs, ts)) return std::string();
  struct stat st;
  if (::stat(tool[0].c_str(), &st) != 0) {
    return std::string(name + (have_cdb ? " is newer than its cdb" : " has no cdb") + ", but " +
                       tool[0].substr(tool[0].rfind('/') + 1) + " is not installed to compile it");
  }
  auto pid = spawn(tool);
  if (!pid) return pid.error();
  auto status = wait_for(*pid);
  if (!status) return status.error();
  if (status->ok()) {
    if (compiled) *compiled = true;
    return std::string();
  }
  if (!status->signaled && status->code == 100) return Error{ErrorKind::permanent, name + " does not compile"};
  return Error{ErrorKind::temporary, "unable to compile " + name + ": " + tool[0] + " failed"};
}

// Files quail reads from control/ besides the registry's: rules.<service> and its cdb.
bool known_control_file(const std::string& name) {
  if (control_spec(name)) return true;
  for (const auto& s : service_names()) {
    if (service_is_listener(s) && (name == "rules." + s || name == "rules." + s + ".cdb")) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> unknown_control_files(const std::string& root) {
  std::vector<std::string> out;
  DIR* d = ::opendir((root + "/control").c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != ".." && !known_control_file(name)) out.push_back(name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::string> refresh_rules(const std::string& root, const std::string& service, bool* compiled) {
  std::string text = "control/rules." + service;
  return refresh(root, text, root + "/" + text + ".cdb", {bin_dir(root) + "/quail-rules", "--root", root, service},
                 compiled);
}

Result<std::string> refresh_aliases(const std::string& root, bool* compiled) {
  return refresh(root, "control/aliases", root + "/users/aliases.cdb",
                 {bin_dir(root) + "/quail-aliases", "--root", root}, compiled);
}

}  // namespace quail
