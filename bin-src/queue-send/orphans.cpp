// Orphans in mess/: see orphans.hpp and queue-layout/README.md, "Orphans".
#include "orphans.hpp"

#include <cerrno>
#include <climits>
#include <csignal>
#include <fcntl.h>
#include <sys/stat.h>

#include "queue_file.hpp"

namespace quail {

OrphanVerdict judge_orphan(const OrphanFacts& f, int64_t now_ns, int64_t min_age_ns) {
  if (!f.regular) return OrphanVerdict::gone;
  // A file the pool handed to a new injection, or one just committed, has a
  // fresh ctime (rename, futimens and link all set it): only a file named in
  // mess/ long ago and left there can be a dead injection's.
  if (now_ns - f.ctime_ns < min_age_ns) return OrphanVerdict::young;
  if (f.writer_alive) return OrphanVerdict::writer_alive;
  if (f.todo_named) return OrphanVerdict::in_todo;
  return OrphanVerdict::orphan;
}

const char* orphan_verdict_name(OrphanVerdict v) {
  switch (v) {
    case OrphanVerdict::orphan: return "orphan";
    case OrphanVerdict::gone: return "gone";
    case OrphanVerdict::young: return "young";
    case OrphanVerdict::writer_alive: return "writer alive";
    case OrphanVerdict::in_todo: return "in todo";
  }
  return "?";
}

TmpNames read_tmp_names(const std::string& tmp_dir) {
  TmpNames t;
  DIR* d = ::opendir(tmp_dir.c_str());
  if (!d) return t;
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(d);
    if (!e) {
      // A listing cut short may have missed a live writer: count it as unread.
      t.readable = errno == 0;
      break;
    }
    if (e->d_name[0] == '.') continue;
    struct stat st;
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
    auto name = parse_tmp_name(e->d_name);
    bool alive = name && name->pid <= INT32_MAX &&
                 (::kill(static_cast<pid_t>(name->pid), 0) == 0 || errno == EPERM);
    t.writer_alive[st.st_ino] |= alive;
  }
  ::closedir(d);
  if (!t.readable) t.writer_alive.clear();
  return t;
}

Result<MessWalk> MessWalk::open(const std::string& mess_dir) {
  DIR* d = ::opendir(mess_dir.c_str());
  if (!d) return sys_error(ErrorKind::temporary, "open directory " + mess_dir);
  return MessWalk(d);
}

MessWalk::~MessWalk() {
  if (dir_) ::closedir(dir_);
}

bool MessWalk::step(size_t max, const std::function<bool(uint64_t)>& held, std::vector<uint64_t>& out) {
  for (size_t i = 0; i < max; ++i) {
    errno = 0;
    dirent* e = ::readdir(dir_);
    if (!e) return false;
    auto id = parse_queue_id(e->d_name);
    if (id && !held(*id)) out.push_back(*id);
  }
  return true;
}

OrphanFacts MessWalk::facts(uint64_t id, const std::string& todo_dir, const std::function<const TmpNames&()>& tmp,
                            int64_t now_ns, int64_t min_age_ns) const {
  OrphanFacts f;
  const std::string name = std::to_string(id);
  struct stat st;
  if (::fstatat(::dirfd(dir_), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) return f;
  f.regular = true;
  f.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  if (now_ns - f.ctime_ns < min_age_ns) return f;
  const TmpNames& names = tmp();
  auto w = names.writer_alive.find(st.st_ino);
  // tmp/ unread: every writer may be alive, so none is judged dead.
  f.writer_alive = !names.readable || (w != names.writer_alive.end() && w->second);
  if (f.writer_alive) return f;
  struct stat t;
  f.todo_named = ::lstat((todo_dir + "/" + name).c_str(), &t) == 0 || errno != ENOENT;
  return f;
}

}  // namespace quail
