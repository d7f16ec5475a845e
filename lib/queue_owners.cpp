// The owners and modes of a system install's queue: see queue_owners.hpp.
#include "queue_owners.hpp"

#include <cerrno>
#include <cstdio>
#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace quail {
namespace {

struct Ids {
  uid_t uid;
  gid_t gid;
};

Result<Ids> ids_of(const std::string& user, const std::string& gname) {
  passwd* pw = ::getpwnam(user.c_str());
  group* gr = ::getgrnam(gname.c_str());
  if (!pw || !gr) {
    return Error{ErrorKind::temporary, "unable to find user " + user + " or group " + gname +
                                           " (quail init --system makes them)"};
  }
  return Ids{pw->pw_uid, gr->gr_gid};
}

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string user_name(uid_t uid) {
  passwd* pw = ::getpwuid(uid);
  return pw ? pw->pw_name : std::to_string(uid);
}

std::string group_name(gid_t gid) {
  group* gr = ::getgrgid(gid);
  return gr ? gr->gr_name : std::to_string(gid);
}

}  // namespace

std::vector<QueueOwner> system_queue_owners(const QueueDirs& q) {
  // todo/, mess/, pool/ and hold/ are group-writable and set-gid: queue-send
  // (quail-send) links and renames between them, and every file in them gets group quail
  // whoever injected it. cmd/ is quail-send's: quail queue (root) writes there,
  // queue-send reads and removes.
  // Group quail holds quail-queue and quail-send alone (lib/system_accounts).
  return {
      {q.queue, "quail-queue", 0750, queue_group},
      {q.tmp(), "quail-queue", 02750, queue_group},
      {q.todo(), "quail-queue", 02770, queue_group},
      {q.mess(), "quail-queue", 02770, queue_group},
      {q.pool(), "quail-queue", 02770, queue_group},
      {q.hold(), "quail-queue", 02770, queue_group},
      {q.cmd(), "quail-send", 0750, queue_group},
      {q.queue + "/lock", "quail-queue", 0755, queue_group},
      {q.trigger(), "quail-send", 0622, queue_group},
      {q.stat(), "quail-send", 0750, queue_group},
  };
}

std::vector<QueueOwner> system_root_owners(const std::string& root) {
  return {
      // Password hashes for users_group only (smtpd's RCPT and AUTH, the mail
      // user's virtual deliveries); aliases.cdb is read by every local-deliver,
      // which runs as the recipient. homes.cdb takes the group of users/.
      {root + "/users", "root", 0755, users_group},
      {root + "/users/users.cdb", "root", 0640, users_group},
      {root + "/users/homes.cdb", "root", 0640, users_group, true},
      {root + "/log", "root", 0750, "root"},
      {root + "/state", "quail-smtpd", 0700, "quail-smtpd"},  // smtpd's abuse-control store
      // Virtual deliveries run with the group of mail/ (lib/identity); smtpd reads
      // the homes (0750) for .qmail files through it.
      {root + "/mail", "quail-mail", 0750, users_group},
      {root + "/control/tls/key.pem", "quail-smtpd", 0400, "quail-smtpd"},
      // smtpd checks SRS0 recipients with it; local-spawn reads it as root.
      {root + "/control/srs/key", "quail-smtpd", 0400, "quail-smtpd"},
      {root + "/control/smtpauth", "quail-remote", 0600, "quail-remote"},
      // Set-uid copies: any local sender runs queue-inject; only queue-send's user
      // (remote_group) runs remote-deliver.
      {root + "/bin/queue-inject", "quail-queue", 04711, queue_group},
      {root + "/bin/remote-deliver", "quail-remote", 04710, remote_group, true},
  };
}

Result<std::string> ownership_difference(const QueueOwner& o) {
  struct stat st;
  if (::lstat(o.path.c_str(), &st) != 0) {
    return sys_error(errno == ENOENT ? ErrorKind::not_found : ErrorKind::temporary, "stat " + o.path);
  }
  auto want = ids_of(o.user, o.group);
  if (!want) return want.error();
  if (st.st_uid == want->uid && st.st_gid == want->gid && (st.st_mode & 07777) == o.mode) return std::string();
  return "owner " + user_name(st.st_uid) + ":" + group_name(st.st_gid) + " mode " + octal(st.st_mode) + ", want " +
         o.user + ":" + o.group + " " + octal(o.mode);
}

Status apply_ownership(const QueueOwner& o) {
  auto want = ids_of(o.user, o.group);
  if (!want) return want.error();
  if (::lchown(o.path.c_str(), want->uid, want->gid) != 0) return sys_error(ErrorKind::temporary, "chown " + o.path);
  if (::chmod(o.path.c_str(), o.mode) != 0) return sys_error(ErrorKind::temporary, "chmod " + o.path);
  return {};
}

Status own_tree(const std::string& dir, const std::string& user, const std::string& gname) {
  auto want = ids_of(user, gname);
  if (!want) return want.error();
  if (::lchown(dir.c_str(), want->uid, want->gid) != 0) return sys_error(ErrorKind::temporary, "chown " + dir);
  DIR* d = ::opendir(dir.c_str());
  if (!d) return sys_error(ErrorKind::temporary, "open " + dir);
  Status result;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = dir + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;
    result = S_ISDIR(st.st_mode) ? own_tree(path, user, gname)
                                 : (::lchown(path.c_str(), want->uid, want->gid) == 0
                                        ? Status{}
                                        : sys_error(ErrorKind::temporary, "chown " + path));
    if (!result) break;
  }
  ::closedir(d);
  return result;
}

}  // namespace quail
