// The queue invariants and their repairs: see checks.hpp and queue-layout/README.md.
#include "checks.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

#include "control.hpp"
#include "durable.hpp"
#include "fd.hpp"
#include "queue_file.hpp"
#include "queue_owners.hpp"
#include "queue_stat.hpp"

namespace quail::check {
namespace {

// The names in dir (not . and ..); not_found when dir is missing.
Result<std::vector<std::string>> list_dir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return sys_error(errno == ENOENT ? ErrorKind::not_found : ErrorKind::temporary, "open " + dir);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool pid_alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

// Why a tmp/ file is debris, or "" while it may still be in flight (S1). Its age
// is the birth its writer put in the name, not its mtime: a file taken from
// pool/ is an old inode with a new message being written into it.
std::string debris_reason(const std::string& name, const struct stat& st) {
  if (!S_ISREG(st.st_mode)) return "not a regular file";
  auto tmp = parse_tmp_name(name);
  if (!tmp) return "not named <pid>.<birth>";
  if (std::time(nullptr) - tmp->birth_ns / 1000000000 > debris_age_seconds) return "older than 36 hours";
  if (tmp->pid > INT32_MAX || !pid_alive(static_cast<pid_t>(tmp->pid))) {
    return "its writer, pid " + std::to_string(tmp->pid) + ", is not running";
  }
  return "";
}

std::string mode_problem(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return std::string("mode ") + buf + ": queue-send cannot read it in a system install (a caller's umask?)";
}

struct Scan {
  std::map<std::string, ino_t> inode_of[2];     // todo, mess: name -> inode
};

// Invariant 1 for one of todo/ and mess/.
void check_queue_dir(const std::string& root, const std::string& where, int slot, Scan& scan,
                     std::vector<Problem>& out) {
  std::string dir = root + "/queue/" + where;
  auto names = list_dir(dir);
  if (!names) return;  // reported as missing_dir
  for (const auto& name : *names) {
    std::string path = dir + "/" + name, shown = "queue/" + where + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;  // taken by queue-send meanwhile
    if (!S_ISREG(st.st_mode)) {
      out.push_back({Kind::corrupt, shown, "not a regular file"});
      continue;
    }
    auto file = read_queue_file(path);
    if (!file) {
      if (file.error().kind == ErrorKind::not_found) continue;
      Kind k = file.error().kind == ErrorKind::format ? Kind::corrupt : Kind::unreadable;
      out.push_back({k, shown, "does not parse: " + file.error().reason});
      continue;
    }
    scan.inode_of[slot][name] = st.st_ino;
    std::string inode = std::to_string(st.st_ino);
    if (name != inode) out.push_back({Kind::misnamed, shown, "named " + name + " but its inode is " + inode});
    if ((st.st_mode & 0440) != 0440) out.push_back({Kind::mode, shown, mode_problem(st.st_mode)});
  }
}

// A journal cut by a crash before its first line was whole (empty, or no newline
// yet: killed between its create and its first write) never held a record, and
// queue-send discards it when it loads the message: no damage, not "not a journal".
constexpr int64_t cut_before_first_record = -1;

// The birth a journal records (its first line); format error when it has none.
Result<int64_t> journal_birth(const std::string& path) {
  auto fd = open_fd(path, O_RDONLY);
  if (!fd) return fd.error();
  char buf[128];
  ssize_t n = read_full(fd->get(), buf, sizeof buf);
  if (n < 0) return sys_error(ErrorKind::io_read, "read " + path);
  std::string_view head(buf, static_cast<size_t>(n));
  if (head.size() < sizeof buf && head.find('\n') == std::string_view::npos) return cut_before_first_record;
  // Only the first line matters here; what follows it is cut wherever it falls.
  auto st = salvage_queue_stat(head, 0);
  if (!st) return st.error();
  return st->birth_ns;
}

// Why journal stat/<name> is an orphan, or "" when its message is there. Looks at
// the queue files now, not at a scan: queue-send may have moved one meanwhile.
Result<std::string> orphan_reason(const QueueDirs& q, const std::string& name) {
  auto birth = journal_birth(q.stat() + "/" + name);
  if (!birth) {
    if (birth.error().kind == ErrorKind::format) return "not a journal: " + birth.error().reason;
    return birth.error();
  }
  for (const auto& dir : {q.todo(), q.mess(), q.hold()}) {
    auto file = read_queue_file(dir + "/" + name);
    if (!file) continue;
    if (file->header.birth_ns == *birth || *birth == cut_before_first_record) return std::string();
    return "orphan journal: its birth differs from message " + name + "'s";
  }
  return "orphan journal: no message " + name + " in todo/ or mess/";
}

// Invariant 3: every journal has a queue file of the same birth.
void check_journals(const QueueDirs& q, std::vector<Problem>& out) {
  auto names = list_dir(q.stat());
  if (!names) return;
  for (const auto& name : *names) {
    std::string shown = "queue/stat/" + name;
    auto why = orphan_reason(q, name);
    if (!why) {
      if (why.error().kind != ErrorKind::not_found) out.push_back({Kind::unreadable, shown, why.error().reason});
    } else if (!why->empty()) {
      out.push_back({Kind::orphan, shown, *why});
    }
  }
}

// A system install's queue directories (and the trigger) belong to quail-queue or
// quail-send, group quail: an install older than hold/ and cmd/, or one fixed by
// hand as root, has them root's, and queue-send then cannot move or read what it must.
Result<bool> system_install(const std::string& root) {
  auto system = Control(root).integer("system");
  if (!system) return system.error();
  return *system == 1;
}

// The service users' groups first: the owners below name groups their repair makes.
Status check_ownership(const std::string& root, std::vector<Problem>& out) {
  auto system = system_install(root);
  if (!system) return system.error();
  if (!*system) return {};
  bool accounts_off = false;
  for (const auto& a : system_accounts()) {
    auto diff = account_difference(a);
    if (!diff && diff.error().kind != ErrorKind::not_found) return diff.error();
    std::string why = diff ? *diff : "missing";
    if (why.empty()) continue;
    out.push_back({Kind::account, "user " + a.user, why});
    accounts_off = true;
  }
  auto owners = system_queue_owners(QueueDirs(root));
  for (auto& o : system_root_owners(root)) owners.push_back(std::move(o));
  for (const auto& o : owners) {
    auto diff = ownership_difference(o);
    // Missing: the queue's part is reported as missing, the rest is not the queue's business.
    if (!diff && diff.error().kind == ErrorKind::not_found) continue;
    if (!diff && !accounts_off) return diff.error();
    std::string why = diff ? *diff : diff.error().reason;
    if (!why.empty()) out.push_back({Kind::ownership, o.path.substr(root.size() + 1), why});
  }
  return {};
}

// After creating what was missing: in a system install, the owners and modes quail
// init --system gives (mkdir made them root's, 0750).
Result<std::string> own_created(const std::string& root) {
  auto system = system_install(root);
  if (!system) return system.error();
  if (!*system) return std::string("created");
  for (const auto& o : system_queue_owners(QueueDirs(root))) {
    auto diff = ownership_difference(o);
    if (!diff) return diff.error();
    if (diff->empty()) continue;
    if (auto s = apply_ownership(o); !s) return s.error();
  }
  return std::string("created, owned as quail init --system does");
}

}  // namespace

Result<std::vector<Problem>> find_problems(const std::string& root) {
  std::vector<Problem> out;
  QueueDirs q(root);
  for (const char* d : {"", "/tmp", "/todo", "/mess", "/stat", "/pool", "/hold", "/cmd", "/lock"}) {
    struct stat st;
    std::string path = q.queue + d;
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      out.push_back({Kind::missing_dir, "queue" + std::string(d), "missing or not a directory"});
    }
  }
  struct stat trig;
  if (::lstat(q.trigger().c_str(), &trig) != 0) {
    out.push_back({Kind::bad_trigger, "queue/lock/trigger", "missing"});
  } else if (!S_ISFIFO(trig.st_mode)) {
    out.push_back({Kind::bad_trigger, "queue/lock/trigger", "not a FIFO"});
  }
  if (auto s = check_ownership(root, out); !s) return s.error();
  Scan scan;
  check_queue_dir(root, "todo", 0, scan, out);
  check_queue_dir(root, "mess", 1, scan, out);
  // Invariant 2; looked at again now, since queue-send may have moved a file
  // between the scans. The same file under both names is a message queue-send has
  // not taken yet (queue-inject names it in both).
  for (const auto& [name, ino] : scan.inode_of[0]) {
    if (!scan.inode_of[1].count(name)) continue;
    struct stat a, b;
    if (::lstat((q.todo() + "/" + name).c_str(), &a) == 0 && ::lstat((q.mess() + "/" + name).c_str(), &b) == 0 &&
        a.st_ino != b.st_ino) {
      out.push_back({Kind::duplicate, "queue/todo/" + name, "another file of that name is in mess/"});
    }
  }
  check_journals(q, out);
  auto tmp = list_dir(q.tmp());
  if (tmp) {
    for (const auto& name : *tmp) {
      struct stat st;
      if (::lstat((q.tmp() + "/" + name).c_str(), &st) != 0) continue;  // committed meanwhile
      std::string why = debris_reason(name, st);
      if (!why.empty()) out.push_back({Kind::debris, "queue/tmp/" + name, "debris: " + why});
    }
  }
  return out;
}

namespace {

// Moves a file out of the queue into queue/corrupt/, never deleting it. With
// must_be_corrupt, only a file that still does not parse: the name is judged
// again through a second link in corrupt/ (which no other program touches, and
// which keeps the pool from handing the inode out), and the queue's name is
// dropped only while it still names that inode. Ids are reused at once through
// pool/, so the name may hold a new, valid message by now.
Result<std::string> move_to_corrupt(const QueueDirs& q, const std::string& where, const std::string& name,
                                    bool must_be_corrupt) {
  std::string dir = q.queue + "/corrupt";
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) return sys_error(ErrorKind::temporary, "mkdir " + dir);
  const std::string src = q.queue + "/" + where + "/" + name;
  std::string base = where + "." + name, dest = base;
  for (int n = 1; ::link(src.c_str(), (dir + "/" + dest).c_str()) != 0; ++n) {
    if (errno == ENOENT) return std::string("gone meanwhile");
    if (errno != EEXIST || n > 1000) return sys_error(ErrorKind::temporary, "move queue/" + where + "/" + name);
    dest = base + "." + std::to_string(n);
  }
  const std::string moved = dir + "/" + dest;
  if (must_be_corrupt) {
    struct stat a, b;
    if (::lstat(moved.c_str(), &a) != 0) return sys_error(ErrorKind::temporary, "stat " + moved);
    std::string keep;
    if (S_ISREG(a.st_mode)) {
      auto file = read_queue_file(moved);
      if (file) keep = "parses now; kept";
      else if (file.error().kind != ErrorKind::format) keep = "unreadable now (" + file.error().reason + "); kept";
    }
    if (keep.empty() && (::lstat(src.c_str(), &b) != 0 || b.st_ino != a.st_ino || b.st_dev != a.st_dev)) {
      keep = "replaced meanwhile; kept";
    }
    if (!keep.empty()) {
      ::unlink(moved.c_str());
      return keep;
    }
  }
  if (auto s = fsync_dir(dir); !s) return s.error();
  // Linked into corrupt/ durably first, so a crash here leaves two names, never none.
  if (::unlink(src.c_str()) != 0) return sys_error(ErrorKind::temporary, "unlink queue/" + where + "/" + name);
  if (auto s = fsync_dir(q.queue + "/" + where); !s) return s.error();
  return "moved to queue/corrupt/" + dest;
}

// Gives a queue file the mode queue-inject gives it, judged again first.
Result<std::string> fix_mode(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return errno == ENOENT ? Result<std::string>("gone meanwhile") : sys_error(ErrorKind::temporary, "open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return sys_error(ErrorKind::temporary, "stat " + path);
  if (!S_ISREG(st.st_mode) || (st.st_mode & 0440) == 0440) return std::string("fine meanwhile");
  if (::fchmod(fd.get(), queue_file_mode) != 0) return sys_error(ErrorKind::temporary, "chmod " + path);
  return std::string("mode 0640 given");
}

// Gives a file that parses the name of its inode (after a restore from backup, say),
// taking its journal along when the journal's birth matches.
Result<std::string> rename_to_inode(const QueueDirs& q, const std::string& where, const std::string& name) {
  std::string dir = q.queue + "/" + where, path = dir + "/" + name;
  auto file = read_queue_file(path);
  if (!file) return file.error();
  struct stat st;
  if (::fstat(file->fd.get(), &st) != 0) return sys_error(ErrorKind::temporary, "stat " + path);
  std::string id = std::to_string(st.st_ino);
  struct stat other;
  if (::lstat((q.todo() + "/" + id).c_str(), &other) == 0 || ::lstat((q.mess() + "/" + id).c_str(), &other) == 0) {
    return move_to_corrupt(q, where, name, false);
  }
  // XXX: a crash between the two renames leaves the journal under the new id
  // without its message; the next check removes it (a possible duplicate, never a loss).
  auto birth = journal_birth(q.stat() + "/" + name);
  if (birth && *birth == file->header.birth_ns && ::lstat((q.stat() + "/" + id).c_str(), &other) != 0) {
    if (::rename((q.stat() + "/" + name).c_str(), (q.stat() + "/" + id).c_str()) != 0) {
      return sys_error(ErrorKind::temporary, "rename queue/stat/" + name);
    }
    if (auto s = fsync_dir(q.stat()); !s) return s.error();
  }
  if (::link(path.c_str(), (dir + "/" + id).c_str()) != 0) return sys_error(ErrorKind::temporary, "link " + path);
  if (::unlink(path.c_str()) != 0) return sys_error(ErrorKind::temporary, "unlink " + path);
  if (auto s = fsync_dir(dir); !s) return s.error();
  return "renamed to queue/" + where + "/" + id;
}

Result<std::string> remove_file(const std::string& path, const std::string& dir) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error(ErrorKind::temporary, "remove " + path);
  if (auto s = fsync_dir(dir); !s) return s.error();
  return std::string("removed");
}

}  // namespace

Result<std::string> repair(const std::string& root, const Problem& p) {
  QueueDirs q(root);
  std::string path = root + "/" + p.path;
  std::string name = p.path.substr(p.path.rfind('/') + 1);
  // "queue/<where>/<name>" for a queue file; an account or a path outside queue/ has none.
  std::string where = p.path.size() > 6 ? p.path.substr(6, p.path.rfind('/') - 6) : std::string();
  struct stat st;
  switch (p.kind) {
    case Kind::missing_dir:
    case Kind::bad_trigger:
      if (p.kind == Kind::bad_trigger && ::lstat(path.c_str(), &st) == 0 && !S_ISFIFO(st.st_mode) &&
          ::unlink(path.c_str()) != 0) {
        return sys_error(ErrorKind::temporary, "remove " + path);
      }
      if (auto s = create_queue_dirs(q); !s) return s.error();
      ::chmod(q.trigger().c_str(), 0622);  // anyone who may inject may wake queue-send; mkfifo obeys the umask
      for (const auto& d : {q.queue + "/lock", q.queue, root}) {
        if (auto s = fsync_dir(d); !s) return s.error();
      }
      return own_created(root);
    case Kind::ownership: {
      auto owners = system_queue_owners(q);
      for (auto& o : system_root_owners(root)) owners.push_back(std::move(o));
      for (const auto& o : owners) {
        if (o.path != path) continue;
        // The virtual homes under mail/ take its owner and group with it (deliveries
        // run with the group of mail/, lib/identity).
        if (o.path == root + "/mail") {
          if (auto s = own_tree(o.path, o.user, o.group); !s) return s.error();
        }
        if (auto s = apply_ownership(o); !s) return s.error();
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(o.mode));
        return "now " + o.user + ":" + o.group + " " + mode;
      }
      break;
    }
    case Kind::account:
      for (const auto& a : system_accounts()) {
        if (p.path != "user " + a.user) continue;
        if (auto s = ensure_account(a, root); !s) return s.error();
        std::string groups;
        for (const auto& g : a.groups) groups += " " + g;
        return "now group " + a.group + (groups.empty() ? "" : ", also" + groups);
      }
      break;
    case Kind::corrupt:
      return move_to_corrupt(q, where, name, true);
    case Kind::mode:
      return fix_mode(path);
    case Kind::misnamed:
      return rename_to_inode(q, where, name);
    case Kind::duplicate: {
      struct stat m;
      if (::lstat(path.c_str(), &st) != 0 || ::lstat((q.mess() + "/" + name).c_str(), &m) != 0) {
        return std::string("resolved meanwhile");
      }
      if (st.st_ino == m.st_ino) return std::string("the same file: a message not yet taken; kept");
      return Error{ErrorKind::temporary, "two different files named " + name + " remain in todo/ and mess/"};
    }
    case Kind::orphan: {
      auto why = orphan_reason(q, name);
      if (!why) return why.error().kind == ErrorKind::not_found ? Result<std::string>("gone meanwhile") : why.error();
      if (why->empty()) return std::string("its message appeared meanwhile; kept");
      return remove_file(path, q.stat());
    }
    case Kind::debris:
      if (::lstat(path.c_str(), &st) != 0) return std::string("gone meanwhile");
      if (debris_reason(name, st).empty()) return std::string("in flight again; kept");
      return remove_file(path, q.tmp());
    case Kind::unreadable:
      break;
  }
  return Error{ErrorKind::temporary, "cannot repair an unreadable file; check the disk"};
}

}  // namespace quail::check
