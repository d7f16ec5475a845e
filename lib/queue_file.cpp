// Queue files: see queue_file.hpp and queue-layout/README.md.
#include "queue_file.hpp"

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decimal.hpp"
#include "durable.hpp"
#include "queue_id.hpp"
#include "queue_pool.hpp"

namespace quail {
namespace {
constexpr std::string_view magic = "QUAIL-QUEUE 1 ";
constexpr size_t flush_threshold = 1 << 20;

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Gives `from` the second name `to`: true when done (or `to` already names the
// same file: a pooled inode whose old mess/ name a crash kept), false when this
// filesystem has no hard links for it (then the caller names the file once).
Result<bool> link_once(const std::string& from, const std::string& to) {
  if (::link(from.c_str(), to.c_str()) == 0) return true;
  int err = errno;
  if (err == EPERM || err == ENOSYS || err == EOPNOTSUPP || err == EMLINK) return false;
  if (err == EEXIST) {
    struct stat a, b;
    if (::stat(from.c_str(), &a) == 0 && ::stat(to.c_str(), &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
      return true;
    }
  }
  // A directory that cannot grow is a full disk, as a write that cannot is.
  bool full = err == ENOSPC || err == EDQUOT;
  return sys_error(full ? ErrorKind::io_write : ErrorKind::temporary, "link " + from + " to " + to, err);
}

}  // namespace

std::string format_queue_header(const QueueHeader& h) {
  char buf[queue_header_size + 1];
  std::snprintf(buf, sizeof buf, "QUAIL-QUEUE 1 %020llu %020lld\n", static_cast<unsigned long long>(h.message_length),
                static_cast<long long>(h.birth_ns));
  return std::string(buf, queue_header_size);
}

Result<QueueHeader> parse_queue_header(std::string_view b) {
  Error bad{ErrorKind::format, "malformed queue file header"};
  if (b.size() < queue_header_size || b.substr(0, magic.size()) != magic || b[queue_header_size - 1] != '\n' ||
      b[magic.size() + 20] != ' ') {
    return bad;
  }
  // Fixed-width fields, so zero-padded; bounded so that no offset or time read
  // from a header can wrap (queue_file.hpp).
  auto length = parse_decimal(b.substr(magic.size(), 20), decimal_int64_max - queue_header_size, LeadingZeros::allow);
  auto birth = parse_decimal(b.substr(magic.size() + 21, 20), static_cast<uint64_t>(max_queue_time_ns), LeadingZeros::allow);
  if (!length || !birth) return bad;
  return QueueHeader{*length, static_cast<int64_t>(*birth)};
}

std::optional<TmpName> parse_tmp_name(std::string_view name) {
  size_t dot = name.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  // Strict decimals, each within int64_t: the name is read from a directory anyone
  // in the queue's group may write to.
  auto pid = parse_decimal(name.substr(0, dot), decimal_int64_max);
  auto birth = parse_decimal(name.substr(dot + 1), decimal_int64_max);
  if (!pid || !birth || *pid == 0) return std::nullopt;
  return TmpName{static_cast<int64_t>(*pid), static_cast<int64_t>(*birth)};
}

bool valid_queue_id(std::string_view id) { return parse_queue_id(id).has_value(); }

std::optional<uint64_t> parse_queue_id(std::string_view id) {
  auto n = parse_decimal(id, UINT64_MAX);
  if (!n || *n == 0) return std::nullopt;
  return n;
}

Status create_queue_dirs(const QueueDirs& d) {
  for (const auto& dir : {d.queue, d.tmp(), d.todo(), d.mess(), d.stat(), d.pool(), d.hold(), d.cmd(), d.queue + "/lock"}) {
    if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) return sys_error(ErrorKind::temporary, "mkdir " + dir);
  }
  if (::mkfifo(d.trigger().c_str(), 0622) != 0 && errno != EEXIST) {
    return sys_error(ErrorKind::temporary, "mkfifo " + d.trigger());
  }
  return {};
}

Result<QueueWriter> QueueWriter::create(const QueueDirs& dirs) {
  int64_t birth = now_ns();
  std::string tmp = dirs.tmp() + "/" + std::to_string(::getpid()) + "." + std::to_string(birth);
  // S0 -> S1: a spent file from pool/ when there is one, else a new file.
  off_t old_size = 0;
  Fd fd = take_pooled_file(dirs.pool(), tmp, static_cast<uint64_t>(birth / 1000), old_size);
  const mode_t mode = queue_file_mode;
  if (!fd.valid()) {
    auto created = open_fd(tmp, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (!created) return created.error();
    fd = std::move(*created);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    ::unlink(tmp.c_str());
    return sys_error(ErrorKind::temporary, "fstat " + tmp);
  }
  // The caller's umask (077 is common) or a pooled file parked with another mode
  // would leave a file queue-send cannot read in a system install: the mode is set
  // here, not inherited (queue-layout, "Directories").
  if ((st.st_mode & 07777) != mode && ::fchmod(fd.get(), mode) != 0) {
    ::unlink(tmp.c_str());
    return sys_error(ErrorKind::temporary, "chmod " + tmp);
  }
  QueueWriter w(dirs, tmp, std::move(fd), static_cast<uint64_t>(st.st_ino), birth);
  w.old_size_ = static_cast<uint64_t>(old_size);
  w.buf_.reserve(16384);
  w.buf_.assign(queue_header_size, ' ');  // the header is filled in at commit
  return w;
}

QueueWriter::QueueWriter(const QueueDirs& dirs, std::string tmp, Fd fd, uint64_t inode, int64_t birth)
    : dirs_(dirs),
      tmp_(std::move(tmp)),
      fd_(std::move(fd)),
      id_(message_id(inode, birth)),
      name_(std::to_string(inode)),
      birth_ns_(birth) {}

QueueWriter::~QueueWriter() {
  if (!committed_ && !tmp_.empty()) ::unlink(tmp_.c_str());
}

Status QueueWriter::flush() {
  if (buf_.empty()) return {};
  if (!write_all(fd_.get(), buf_)) return sys_error(ErrorKind::io_write, "write " + tmp_);
  written_ += buf_.size();
  buf_.clear();
  flushed_any_ = true;
  return {};
}

Status QueueWriter::append(std::string_view bytes) {
  message_length_ += bytes.size();
  buf_.append(bytes);
  if (buf_.size() >= flush_threshold) return flush();
  return {};
}

Status QueueWriter::commit(const Envelope& env) {
  std::string header = format_queue_header(QueueHeader{message_length_, birth_ns_});
  // Decided before the flush below, which sets flushed_any_ itself: a file that
  // goes out in one write already has its real header and needs no pwrite.
  const bool in_parts = flushed_any_;
  if (!in_parts) {
    // The common case: the whole file goes out in one write.
    buf_.replace(0, queue_header_size, header);
  }
  buf_ += serialize_envelope(env);
  if (auto s = flush(); !s) return s;
  if (in_parts && ::pwrite(fd_.get(), header.data(), header.size(), 0) != static_cast<ssize_t>(header.size())) {
    return sys_error(ErrorKind::io_write, "write header of " + tmp_);
  }
  // A pooled file longer than this message keeps none of its old bytes.
  if (old_size_ > written_ && ::ftruncate(fd_.get(), static_cast<off_t>(written_)) != 0) {
    return sys_error(ErrorKind::io_write, "truncate " + tmp_);
  }
  // S1 -> S2: the data is durable before the file has a name in mess/, and that
  // name is durable (mess/ fsync'ed) before the caller acknowledges. The todo/
  // name only tells a running queue-send there is new mail: queue-send lists
  // mess/ when it starts, so a todo/ name a power cut loses loses no mail, and
  // queue-send takes the message with an unlink and no fsync (queue-layout,
  // "Order of writes in queue-inject").
  if (auto s = fsync_fd(fd_.get(), tmp_); !s) return s;
  if (::close(fd_.release()) != 0) return sys_error(ErrorKind::io_write, "close " + tmp_);
  std::string mess = dirs_.mess() + "/" + name_;
  auto linked = link_once(tmp_, mess);
  if (!linked) return linked.error();
  std::string dest = dirs_.todo() + "/" + name_;
  if (::rename(tmp_.c_str(), dest.c_str()) != 0) {
    Error e = sys_error(ErrorKind::temporary, "rename " + tmp_ + " to " + dest);
    if (*linked) ::unlink(mess.c_str());  // never acknowledged: no second name left behind
    return e;
  }
  committed_ = true;
  // Without hard links (link_once said so) todo/ holds the only name, as before
  // mess/ had one from the start: then todo/ is what must be durable.
  if (auto s = fsync_dir(*linked ? dirs_.mess() : dirs_.todo()); !s) {
    // The file is named but perhaps not durably so: say so, so the caller
    // answers "temporary failure". A later delivery of this copy is a duplicate at worst.
    return s;
  }
  return {};
}

Result<QueueFile> read_queue_file(const std::string& path) {
  auto fd = open_fd(path, O_RDONLY);
  if (!fd) return fd.error();
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return sys_error(ErrorKind::temporary, "fstat " + path);
  char hb[queue_header_size];
  if (read_full(fd->get(), hb, sizeof hb) != static_cast<ssize_t>(sizeof hb)) {
    return Error{ErrorKind::format, path + ": truncated queue file"};
  }
  auto h = parse_queue_header(std::string_view(hb, sizeof hb));
  if (!h) return Error{ErrorKind::format, path + ": " + h.error().reason};
  uint64_t env_off = queue_header_size + h->message_length;
  if (env_off > static_cast<uint64_t>(st.st_size)) return Error{ErrorKind::format, path + ": message length past the end"};
  size_t env_len = static_cast<size_t>(st.st_size - env_off);
  std::string env(env_len, '\0');
  if (::pread(fd->get(), env.data(), env_len, static_cast<off_t>(env_off)) != static_cast<ssize_t>(env_len)) {
    return sys_error(ErrorKind::io_read, "read envelope of " + path);
  }
  auto e = parse_envelope(env);
  if (!e) return Error{ErrorKind::format, path + ": " + e.error().reason};
  return QueueFile{std::move(*fd), *h, std::move(*e), static_cast<uint64_t>(st.st_size)};
}

void pull_trigger(const QueueDirs& dirs) {
  int fd = ::open(dirs.trigger().c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;  // ENXIO: queue-send is not running; it scans todo/ when it starts
  (void)!::write(fd, "", 1);
  ::close(fd);
}

}  // namespace quail
