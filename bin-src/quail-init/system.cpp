// quail init --system: the users and ownerships of a privilege-separated install.
// Owners and modes follow queue-layout/README.md; the table is in man/quail.8.
// XXX: only the layout is made here; the services do not yet switch users at run time.
#include <cerrno>
#include <grp.h>
#include <pwd.h>
#include <string>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>
#include <vector>

#include "init.hpp"
#include "queue_file.hpp"
#include "spawn.hpp"

namespace quail::init {
namespace {

constexpr const char* group_name = "quail";
const std::vector<std::string> system_users = {"quail-queue", "quail-send", "quail-smtpd", "quail-remote",
                                               "quail-log"};

Status run_tool(const std::vector<std::string>& argv) {
  auto pid = spawn(argv);
  if (!pid) return pid.error();
  auto st = wait_for(*pid);
  if (!st) return st.error();
  if (!st->ok()) return Error{ErrorKind::temporary, "unable to run " + argv[0] + " " + argv.back() + ": it failed"};
  return {};
}

std::string tool(const std::string& name) {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/"}) {
    std::string p = dir + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "/usr/sbin/" + name;
}

Status own(const std::string& path, const std::string& user, mode_t mode) {
  passwd* pw = ::getpwnam(user.c_str());
  group* gr = ::getgrnam(group_name);
  if (!pw || !gr) return Error{ErrorKind::temporary, "unable to find user " + user + " or group " + group_name};
  if (::lchown(path.c_str(), pw->pw_uid, gr->gr_gid) != 0) return sys_error(ErrorKind::temporary, "chown " + path);
  if (::chmod(path.c_str(), mode) != 0) return sys_error(ErrorKind::temporary, "chmod " + path);
  return {};
}

}  // namespace

Status create_system_users(const std::string& root) {
  if (::geteuid() != 0) return Error{ErrorKind::permanent, "--system needs root"};
  if (!::getgrnam(group_name)) {
    if (auto s = run_tool({tool("groupadd"), "--system", group_name}); !s) return s;
  }
  for (const auto& user : system_users) {
    if (::getpwnam(user.c_str())) continue;
    if (auto s = run_tool({tool("useradd"), "--system", "--gid", group_name, "--home-dir", root, "--no-create-home",
                           "--shell", "/usr/sbin/nologin", user});
        !s) {
      return s;
    }
  }
  return {};
}

Status chown_system_layout(const std::string& root) {
  QueueDirs q(root);
  const std::vector<std::tuple<std::string, std::string, mode_t>> owners = {
      {root + "/users", "root", 0750},
      {root + "/users/users.cdb", "root", 0640},
      {root + "/log", "quail-log", 0750},
      {q.queue, "quail-queue", 0750},
      {q.tmp(), "quail-queue", 0750},
      {q.todo(), "quail-queue", 0750},
      {q.mess(), "quail-queue", 0750},
      {q.queue + "/lock", "quail-queue", 0750},
      {q.trigger(), "quail-queue", 0622},
      {q.stat(), "quail-send", 0750},
  };
  for (const auto& [path, user, mode] : owners) {
    if (auto s = own(path, user, mode); !s) return s;
  }
  return {};
}

}  // namespace quail::init
