// quail init --system: the users and ownerships of a privilege-separated install.
// Owners and modes follow queue-layout/README.md; the table is in man/quail.8.
// At run time quail up starts queue-send under local-spawn (root) as quail-send and
// tcpserver drops to quail-smtpd; queue-inject is a set-uid quail-queue copy and
// remote-deliver a set-uid quail-remote copy.
#include <cerrno>
#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <string>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>
#include <vector>

#include "durable.hpp"
#include "fd.hpp"
#include "init.hpp"
#include "queue_file.hpp"
#include "queue_owners.hpp"
#include "spawn.hpp"

namespace quail::init {
namespace {

constexpr const char* group_name = "quail";
const std::vector<std::string> system_users = {"quail-queue", "quail-send", "quail-smtpd", "quail-remote",
                                               "quail-log", "quail-mail"};

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

// A program becomes a set-uid copy owned by user (never a link: a set-id program
// takes its root from where its file lives, lib/root.cpp). queue-inject: any
// local user can inject without a set-uid-root program. remote-deliver (mode
// 4710, group quail: only queue-send runs it): it runs as quail-remote, which
// owns control/smtpauth and nothing else; the queue file it delivers is the
// descriptor queue-send opened, so it needs no right on the queue at all.
Status install_setuid_copy(const std::string& root, const std::string& program, const std::string& user, mode_t mode) {
  std::string link = root + "/bin/" + program;
  char target[4096];
  ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  if (n <= 0) return sys_error(ErrorKind::temporary, "read link " + link);
  auto bytes = read_file(std::string(target, static_cast<size_t>(n)), 64 << 20);
  if (!bytes) return bytes.error();
  if (::unlink(link.c_str()) != 0) return sys_error(ErrorKind::temporary, "remove " + link);
  if (auto s = write_file_durable(link, *bytes, 0700); !s) return s;
  return own(link, user, mode);
}

// control/smtpauth holds relay passwords: only remote-deliver's user may read it.
Status install_smtpauth(const std::string& root) {
  std::string path = root + "/control/smtpauth";
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (auto s = write_file_durable(path, "", 0600); !s) return s;
  }
  return own(path, "quail-remote", 0600);
}

// Every file and directory under dir becomes user's (group quail), keeping modes.
Status own_tree(const std::string& dir, const std::string& user) {
  passwd* pw = ::getpwnam(user.c_str());
  group* gr = ::getgrnam(group_name);
  if (!pw || !gr) return Error{ErrorKind::temporary, "unable to find user " + user};
  if (::lchown(dir.c_str(), pw->pw_uid, gr->gr_gid) != 0) return sys_error(ErrorKind::temporary, "chown " + dir);
  DIR* d = ::opendir(dir.c_str());
  if (!d) return sys_error(ErrorKind::temporary, "open " + dir);
  Status result;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = dir + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;
    result = S_ISDIR(st.st_mode) ? own_tree(path, user)
                                 : (::lchown(path.c_str(), pw->pw_uid, gr->gr_gid) == 0
                                        ? Status{}
                                        : sys_error(ErrorKind::temporary, "chown " + path));
    if (!result) break;
  }
  ::closedir(d);
  return result;
}

Status chown_system_layout(const std::string& root) {
  QueueDirs q(root);
  // The queue's group is quail (quail-queue, quail-send): set-gid directories make
  // every queue file group quail whoever injected it, so queue-send can read it;
  // todo/, mess/ and pool/ are group-writable because queue-send renames between
  // them (and queue-inject takes files back out of pool/).
  const std::vector<std::tuple<std::string, std::string, mode_t>> owners = {
      // Password hashes are for the quail group only; aliases are read by every
      // local-deliver, which runs as the recipient.
      {root + "/users", "root", 0755},
      {root + "/users/users.cdb", "root", 0640},
      {root + "/users/aliases.cdb", "root", 0644},
      {root + "/log", "root", 0750},
      {root + "/state", "quail-smtpd", 0700},  // the abuse-control store smtpd keeps (queue-layout/store.md)
      {root + "/mail", "quail-mail", 0750},
      // Only the smtpd user (tlsd runs as it) reads the TLS key.
      {root + "/control/tls/key.pem", "quail-smtpd", 0400},
      // The SRS key: smtpd checks SRS0 recipients with it; local-spawn reads it
      // as root for each delivery child (man/mailauth.8, "Forwarding (SRS)").
      {root + "/control/srs/key", "quail-smtpd", 0400},
  };
  // The queue's part is shared with quail check --repair (lib/queue_owners).
  for (const auto& o : system_queue_owners(q)) {
    if (auto s = apply_ownership(o); !s) return s;
  }
  for (const auto& [path, user, mode] : owners) {
    if (auto s = own(path, user, mode); !s) return s;
  }
  if (auto s = own_tree(root + "/mail", "quail-mail"); !s) return s;
  if (auto s = install_setuid_copy(root, "queue-inject", "quail-queue", 04711); !s) return s;
  struct stat st;
  if (::lstat((root + "/bin/remote-deliver").c_str(), &st) == 0) {
    if (auto s = install_setuid_copy(root, "remote-deliver", "quail-remote", 04710); !s) return s;
  }
  return install_smtpauth(root);
}

}  // namespace quail::init
