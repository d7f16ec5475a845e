// queue-send's disk steps: see store.hpp. State names are queue-layout/README.md's.
#include "store.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounce.hpp"
#include "durable.hpp"
#include "log.hpp"
#include "queue_stat.hpp"

namespace quail {

bool Message::final() const {
  for (const auto& r : rcpts) {
    if (r.state != RcptState::delivered && r.state != RcptState::failed) return false;
  }
  return true;
}

bool Message::owes_bounce() const {
  for (const auto& r : rcpts) {
    if (r.state == RcptState::failed && !r.bounced) return true;
    if (r.state == RcptState::delivered && (r.notify & notify_success) && !r.reported) return true;
  }
  return false;
}

bool Message::owes_record() const {
  for (const auto& r : rcpts) {
    if ((r.state == RcptState::delivered || r.state == RcptState::failed) && !r.recorded) return true;
  }
  return false;
}

Result<std::vector<uint64_t>> Store::list(const std::string& dir) const {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return sys_error(ErrorKind::temporary, "open directory " + dir);
  std::vector<uint64_t> ids;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    // Not stoull: a 20-digit name past UINT64_MAX would throw out of the scheduler.
    if (auto id = parse_queue_id(e->d_name)) ids.push_back(*id);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return sys_error(ErrorKind::temporary, "read directory " + dir, err);
  return ids;
}

namespace {

// Applies stat/<id> to m: D/F/B final outcomes and T times. A journal of an
// earlier message with the same inode (another birth) or with an unreadable first
// line is discarded; a damaged or torn one is rewritten to its sound prefix so
// later appends start on a line of their own. A journal that cannot be read (or
// rewritten) is an error and is left as it is: loading the message without it
// would start a new journal over its D/F records (queue-layout, "queue-send").
Status apply_journal(Message& m, const std::string& path) {
  auto text = read_file(path, 64 << 20);
  if (!text) {
    if (text.error().kind == ErrorKind::not_found) return {};
    return Error{ErrorKind::temporary, text.error().reason};
  }
  auto st = salvage_queue_stat(*text, m.rcpts.size());
  if (!st || st->birth_ns != m.birth_ns) {
    log_warn({{"msg", m.id_str()}, {"event", "journal"}, {"result", "discarded"},
              {"reason", st ? "journal of an earlier message with the same id" : st.error().reason}});
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error(ErrorKind::temporary, "unlink " + path);
    return {};
  }
  m.journal = true;
  for (size_t n = 0; n < m.rcpts.size(); ++n) {
    const StatRecipient& s = st->recipients[n];
    Rcpt& r = m.rcpts[n];
    r.reason = s.reason;
    if (s.outcome == StatOutcome::delivered) r.state = RcptState::delivered;
    if (s.outcome == StatOutcome::failed) r.state = RcptState::failed;
    r.recorded = s.outcome != StatOutcome::pending;
    r.bounced = s.bounced;
    r.last_try = s.last_try;
    r.reported = s.reported;
    r.warned = s.warned;
  }
  if (st->good_bytes != text->size()) {
    log_warn({{"msg", m.id_str()}, {"event", "journal"}, {"result", "rewritten"},
              {"reason", st->torn_tail ? "torn last record" : "damaged record after byte " + std::to_string(st->good_bytes)}});
    // Appending after a torn or bad line would hide the new records behind it.
    if (auto w = write_file_durable(path, format_queue_stat(*st), 0640); !w) return w;
    m.journal_named = true;  // write_file_durable fsyncs stat/
  }
  return {};
}

}  // namespace

// S2 -> S3: todo/<id> -> mess/<id>. queue-inject names the file in both and
// makes mess/ durable before it acknowledges, so the take is the unlink of the
// todo/ name, with no fsync: where that unlink is lost, the message is taken
// again, once. A file in todo/ alone (no hard links where it was queued, or a
// queue-inject older than this layout) is linked, mess/ fsync'ed, then unlinked:
// a bare rename is not enough where metadata updates do not keep their order
// (ext4 without a journal), since the next fsync of todo/ could make the todo/
// name's removal durable before the mess/ name (e2e 72-power-loss).
Status Store::take(const std::string& todo, const std::string& mess, const std::string& msg, int todo_fd) const {
  // The normal case costs an fstat of the file just read and an lstat of its
  // mess/ name, where a link refused with EEXIST cost two path walks more.
  struct stat t, n;
  if (::fstat(todo_fd, &t) == 0 && ::lstat(mess.c_str(), &n) == 0 && S_ISREG(n.st_mode) && t.st_ino == n.st_ino &&
      t.st_dev == n.st_dev) {
    if (::unlink(todo.c_str()) != 0 && errno != ENOENT) return sys_error(ErrorKind::temporary, "unlink " + todo);
    return {};
  }
  if (::link(todo.c_str(), mess.c_str()) != 0) {
    int err = errno;
    struct stat a, b;
    if (err == EEXIST) {
      if (::lstat(todo.c_str(), &a) != 0 || ::lstat(mess.c_str(), &b) != 0 || a.st_ino != b.st_ino ||
          a.st_dev != b.st_dev) {
        return sys_error(ErrorKind::temporary, "link " + todo + " to " + mess, EEXIST);
      }
      if (::unlink(todo.c_str()) != 0 && errno != ENOENT) return sys_error(ErrorKind::temporary, "unlink " + todo);
      return {};
    }
    if (err == EPERM || err == ENOSYS || err == EOPNOTSUPP || err == EMLINK) {
      // No hard links on this filesystem, or not to a file another user owns
      // (fs.protected_hardlinks): rename, and make it durable at once; the
      // window left is that of one rename. Rare (queue-inject gives new files
      // their mess/ name itself), so logged.
      log_warn({{"msg", msg}, {"event", "take"}, {"result", "renamed"},
                {"reason", "unable to link " + todo + " to " + mess + ": " + std::strerror(err)}});
      if (::rename(todo.c_str(), mess.c_str()) != 0) {
        return sys_error(ErrorKind::temporary, "rename " + todo + " to " + mess);
      }
      return fsync_dir(dirs_.mess());
    }
    return sys_error(ErrorKind::temporary, "link " + todo + " to " + mess, err);
  }
  if (auto s = fsync_dir(dirs_.mess()); !s) return Error{ErrorKind::temporary, s.error().reason};
  if (::unlink(todo.c_str()) != 0 && errno != ENOENT) return sys_error(ErrorKind::temporary, "unlink " + todo);
  return {};
}

Result<Message> Store::load(uint64_t id, bool from_todo, bool never_taken) const {
  std::string name = std::to_string(id);
  std::string mess = dirs_.mess() + "/" + name;
  std::string path = from_todo ? dirs_.todo() + "/" + name : mess;
  auto qf = read_queue_file(path);
  if (!qf) return qf.error();
  Message m;
  m.id = id;
  m.birth_ns = qf->header.birth_ns;
  m.length = qf->header.message_length;
  m.small = qf->file_size <= pool_max_file_bytes;
  m.sender = std::move(qf->envelope.sender);
  m.rcpts.resize(qf->envelope.recipients.size());
  for (size_t n = 0; n < m.rcpts.size(); ++n) {
    m.rcpts[n].address = std::move(qf->envelope.recipients[n].address);
    m.rcpts[n].notify = notify_flags(qf->envelope.recipients[n].notify);
  }
  // A message queued on hold (a milter's quarantine) goes to hold/ as it is
  // taken, or found as an orphan, before any delivery; once released (from
  // mess/) it is delivered.
  for (const auto& [k, v] : qf->envelope.extra) m.hold_asked |= never_taken && k == "hold";
  // Before the take, so a load that fails here leaves the message where the
  // caller will look for it again.
  if (auto s = apply_journal(m, stat_path(id)); !s) return s.error();
  if (from_todo) {
    // S2 -> S3 (queue-layout, "Taking a message").
    if (auto s = take(path, mess, m.id_str(), qf->fd.get()); !s) return s.error();
  }
  return m;
}

Status Store::append_journal(Message& m, const std::string& records, bool sync) const {
  std::string path = stat_path(m.id);
  bool create = !m.journal;
  // load() found no journal (or removed an earlier message's): one there now is
  // what a failed append of this process left, never a record that counted.
  int flags = O_WRONLY | O_APPEND | (create ? O_CREAT | O_TRUNC : 0);
  auto fd = open_fd(path, flags, 0640);
  if (!fd) return fd.error();
  std::string text = create ? stat_header_record(m.birth_ns) + records : records;
  // A failed first write is truncated by the next try: none of it was synced.
  if (!write_all(fd->get(), text)) return sys_error(ErrorKind::io_write, "write " + path);
  m.journal = true;
  if (!sync) return {};
  if (::fdatasync(fd->get()) != 0) return sys_error(ErrorKind::io_write, "fdatasync " + path);
  // The first durable record also makes the journal's name durable, whatever
  // records (T, written without a sync) made the file before it.
  if (m.journal_named) return {};
  if (auto s = fsync_dir(dirs_.stat()); !s) return s;
  m.journal_named = true;
  return {};
}

Status Store::stow(const Message& m) const {
  std::string from = mess_path(m.id), to = dirs_.hold() + "/" + std::to_string(m.id);
  if (::rename(from.c_str(), to.c_str()) != 0) return sys_error(ErrorKind::temporary, "rename " + from + " to " + to);
  // Both directories: a filesystem that does not order metadata (ext4 without a
  // journal) could otherwise bring the file back in mess/ after a crash.
  if (auto s = fsync_dir(dirs_.hold()); !s) return s;
  return fsync_dir(dirs_.mess());
}

Status Store::unstow(uint64_t id) const {
  std::string from = dirs_.hold() + "/" + std::to_string(id), to = mess_path(id);
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return sys_error(errno == ENOENT ? ErrorKind::not_found : ErrorKind::temporary, "rename " + from + " to " + to);
  }
  if (auto s = fsync_dir(dirs_.mess()); !s) return s;
  return fsync_dir(dirs_.hold());
}

Status Store::remove(const Message& m) const {
  // S4 -> S5: mess/ first, so a crash in between leaves an orphan journal (removed
  // by the next load of a message with this id, or by quail check), never a message
  // without the records that say it is done.
  // Parking the file in pool/ is the same record as the unlink: mess/<id> is gone.
  std::string mess = mess_path(m.id);
  if (!(m.small && pool_.park(mess, std::to_string(m.id))) && ::unlink(mess.c_str()) != 0 && errno != ENOENT) {
    return sys_error(ErrorKind::temporary, "unlink " + mess);
  }
  std::string stat = stat_path(m.id);
  if (m.journal && ::unlink(stat.c_str()) != 0 && errno != ENOENT) {
    return sys_error(ErrorKind::temporary, "unlink " + stat);
  }
  return {};
}

bool Store::drop_todo_name(uint64_t id) const {
  std::string todo = dirs_.todo() + "/" + std::to_string(id);
  struct stat t, m;
  if (::lstat(todo.c_str(), &t) != 0 || ::lstat(mess_path(id).c_str(), &m) != 0 || !S_ISREG(t.st_mode) ||
      t.st_ino != m.st_ino || t.st_dev != m.st_dev) {
    return false;
  }
  return unlink_todo(id);
}

bool Store::unlink_todo(uint64_t id) const {
  std::string todo = dirs_.todo() + "/" + std::to_string(id);
  return ::unlink(todo.c_str()) == 0 || errno == ENOENT;
}

Result<int64_t> Store::todo_birth(uint64_t id) const {
  std::string path = dirs_.todo() + "/" + std::to_string(id);
  auto fd = open_fd(path, O_RDONLY | O_NOFOLLOW);
  if (!fd) return fd.error();
  char hb[queue_header_size];
  if (read_full(fd->get(), hb, sizeof hb) != static_cast<ssize_t>(sizeof hb)) {
    return Error{ErrorKind::format, path + ": truncated queue file"};
  }
  auto h = parse_queue_header(std::string_view(hb, sizeof hb));
  if (!h) return Error{ErrorKind::format, path + ": " + h.error().reason};
  return h->birth_ns;
}

Result<Fd> Store::open_message(uint64_t id) const {
  std::string path = mess_path(id);
  auto fd = open_fd(path, O_RDONLY);
  if (!fd) return fd.error();
  if (::lseek(fd->get(), static_cast<off_t>(queue_header_size), SEEK_SET) < 0) {
    return sys_error(ErrorKind::temporary, "seek in " + path);
  }
  return fd;
}

int Store::clean_tmp(int64_t max_age_s) const {
  DIR* d = ::opendir(dirs_.tmp().c_str());
  if (!d) return 0;
  int removed = 0;
  time_t now = std::time(nullptr);
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    struct stat st;
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
    // Debris of an injection that never reached S2 (queue-layout, invariant 4),
    // aged by the birth its writer put in the name: a file taken from pool/ may
    // carry an old mtime while it is being written.
    auto name = parse_tmp_name(e->d_name);
    int64_t born = name ? name->birth_ns / 1000000000 : static_cast<int64_t>(st.st_mtime);
    if (now - born > max_age_s && ::unlinkat(::dirfd(d), e->d_name, 0) == 0) ++removed;
  }
  ::closedir(d);
  return removed;
}

}  // namespace quail
