// The owners and modes of a system install's queue: see queue_owners.hpp.
#include "queue_owners.hpp"

#include <cerrno>
#include <cstdio>
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

Result<Ids> ids_of(const std::string& user) {
  passwd* pw = ::getpwnam(user.c_str());
  group* gr = ::getgrnam(queue_group);
  if (!pw || !gr) {
    return Error{ErrorKind::temporary, std::string("unable to find user ") + user + " or group " + queue_group +
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
  // (quail-send) renames between them, and every file in them gets group quail
  // whoever injected it. cmd/ is quail-send's: quail queue (root) writes there,
  // queue-send reads and removes.
  return {
      {q.queue, "quail-queue", 0750},
      {q.tmp(), "quail-queue", 02750},
      {q.todo(), "quail-queue", 02770},
      {q.mess(), "quail-queue", 02770},
      {q.pool(), "quail-queue", 02770},
      {q.hold(), "quail-queue", 02770},
      {q.cmd(), "quail-send", 0750},
      {q.queue + "/lock", "quail-queue", 0755},
      {q.trigger(), "quail-send", 0622},
      {q.stat(), "quail-send", 0750},
  };
}

Result<std::string> ownership_difference(const QueueOwner& o) {
  struct stat st;
  if (::lstat(o.path.c_str(), &st) != 0) {
    return sys_error(errno == ENOENT ? ErrorKind::not_found : ErrorKind::temporary, "stat " + o.path);
  }
  auto want = ids_of(o.user);
  if (!want) return want.error();
  if (st.st_uid == want->uid && st.st_gid == want->gid && (st.st_mode & 07777) == o.mode) return std::string();
  return "owner " + user_name(st.st_uid) + ":" + group_name(st.st_gid) + " mode " + octal(st.st_mode) + ", want " +
         o.user + ":" + queue_group + " " + octal(o.mode);
}

Status apply_ownership(const QueueOwner& o) {
  auto want = ids_of(o.user);
  if (!want) return want.error();
  if (::lchown(o.path.c_str(), want->uid, want->gid) != 0) return sys_error(ErrorKind::temporary, "chown " + o.path);
  if (::chmod(o.path.c_str(), o.mode) != 0) return sys_error(ErrorKind::temporary, "chmod " + o.path);
  return {};
}

}  // namespace quail
