// Reading passwd(5) ourselves: see passwd_file.hpp. Trusts the file's owner
// (root) for its content, not for its form: a line that is not exactly seven
// well-formed fields is skipped, whatever name it seems to carry.
#include "passwd_file.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decimal.hpp"
#include "fd.hpp"

namespace quail {
namespace {

// Bigger than any real /etc/passwd (100,000 logins are ~8 MB): a bound, not a guess.
constexpr size_t max_passwd_size = size_t{64} << 20;

struct Fields {
  std::string_view f[7];  // name, passwd, uid, gid, gecos, dir, shell
  uint32_t uid = 0;
  uint32_t gid = 0;
};

bool has_control(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

PasswdLine classify(std::string_view line, Fields& out) {
  if (line.find_first_not_of(" \t") == std::string_view::npos) return PasswdLine::ignored;
  if (line[0] == '#' || line[0] == '+' || line[0] == '-') return PasswdLine::ignored;
  if (has_control(line)) return PasswdLine::malformed;  // NUL, CR (a CRLF file), tabs
  size_t start = 0;
  for (int i = 0; i < 7; ++i) {
    size_t colon = line.find(':', start);
    if ((i < 6) == (colon == std::string_view::npos)) return PasswdLine::malformed;  // not exactly 6 colons
    out.f[i] = line.substr(start, i < 6 ? colon - start : std::string_view::npos);
    start = colon + 1;
  }
  std::string_view name = out.f[0], dir = out.f[5];
  if (name.empty() || name.find(' ') != std::string_view::npos) return PasswdLine::malformed;
  if (!parse_id(out.f[2], out.uid) || !parse_id(out.f[3], out.gid)) return PasswdLine::malformed;
  // A relative home would be resolved against whatever directory we run in.
  if (!dir.empty() && dir[0] != '/') return PasswdLine::malformed;
  return PasswdLine::entry;
}

PasswdEntry to_entry(const Fields& f) {
  PasswdEntry e;
  e.name = f.f[0];
  e.uid = static_cast<uid_t>(f.uid);
  e.gid = static_cast<gid_t>(f.gid);
  e.gecos = f.f[4];
  e.dir = f.f[5];
  e.shell = f.f[6];
  return e;
}

// Calls fn(line, lineno) for each line until fn returns true.
template <typename Fn>
void each_line(std::string_view text, Fn fn) {
  size_t lineno = 0;
  while (!text.empty()) {
    size_t lf = text.find('\n');
    std::string_view line = text.substr(0, lf);
    text.remove_prefix(lf == std::string_view::npos ? text.size() : lf + 1);
    if (fn(line, ++lineno)) return;
  }
}

// What identifies one version of a file without reading it.
struct FileStamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  struct timespec mtime {};
  static FileStamp of(const struct stat& st) { return {st.st_dev, st.st_ino, st.st_size, st.st_mtim}; }
  bool operator==(const FileStamp& o) const {
    return dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
           mtime.tv_nsec == o.mtime.tv_nsec;
  }
};

Result<PasswdFile> read_fd(int fd, const std::string& path, FileStamp& stamp) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return sys_error(ErrorKind::temporary, "stat " + path);
  stamp = FileStamp::of(st);
  if (static_cast<uint64_t>(st.st_size) > max_passwd_size) {
    return Error{ErrorKind::temporary, "unable to read " + path + ": bigger than 64 MiB"};
  }
  // One byte more than the size: a single read(2) that comes back short is the
  // whole file; a file that grew meanwhile is read on to its end.
  std::string text(static_cast<size_t>(st.st_size) + 1, '\0');
  size_t got = 0;
  for (;;) {
    if (got == text.size()) {
      if (text.size() > max_passwd_size) return Error{ErrorKind::temporary, "unable to read " + path + ": bigger than 64 MiB"};
      text.resize(text.size() * 2);
    }
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error(ErrorKind::temporary, "read " + path);
    if (n == 0) break;
    got += static_cast<size_t>(n);
    // A regular file comes back short only at its end: no second read(2) to see EOF.
    if (S_ISREG(st.st_mode) && got < text.size()) break;
  }
  text.resize(got);
  // A file rewritten in place (truncated, then written, as some scripts and
  // editors do) can be read half-written, and a login missing from it would
  // bounce as "no mailbox". An empty file, or one that ends mid-line, is taken
  // for that: a temporary error, read again at the next lookup. useradd and vipw
  // replace the file whole by rename, so they are never seen half-done.
  if (text.empty() || text.back() != '\n') {
    return Error{ErrorKind::temporary, path + " is empty or ends in the middle of a line (being rewritten?)"};
  }
  return PasswdFile(std::move(text));
}

// One per process. No lock: quail's programs are single-threaded (they spawn,
// never start threads), and a mutex would link C++'s system_error machinery
// into every static program that looks a user up.
struct Cache {
  std::string path;
  FileStamp stamp;
  std::optional<PasswdFile> file;
};

Cache& cache() {
  static Cache c;
  return c;
}

// Runs fn on the current contents of path (read again only when it changed).
template <typename T, typename Fn>
Result<std::optional<T>> with_file(const std::string& path, Fn fn) {
  Cache& c = cache();
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return sys_error(ErrorKind::temporary, "stat " + path);
  if (!c.file || c.path != path || !(c.stamp == FileStamp::of(st))) {
    c.file.reset();
    auto fd = open_fd(path, O_RDONLY);
    if (!fd) return Error{ErrorKind::temporary, fd.error().reason};
    auto f = read_fd(fd->get(), path, c.stamp);
    if (!f) return f.error();
    c.file.emplace(std::move(*f));
    c.path = path;
  }
  return fn(*c.file);
}

}  // namespace

// A uid or gid: 1 to 10 decimal digits, below 2^32 - 1 ((uid_t)-1 means "none").
bool parse_id(std::string_view s, uint32_t& out) {
  if (s.size() > 10) return false;
  auto v = parse_decimal(s, 0xfffffffeu, LeadingZeros::allow);
  if (!v) return false;
  out = static_cast<uint32_t>(*v);
  return true;
}

PasswdLine parse_passwd_line(std::string_view line, PasswdEntry* out) {
  Fields f;
  PasswdLine kind = classify(line, f);
  if (kind == PasswdLine::entry && out) *out = to_entry(f);
  return kind;
}

Result<PasswdFile> PasswdFile::read(const std::string& path) {
  auto fd = open_fd(path, O_RDONLY);
  if (!fd) return Error{ErrorKind::temporary, fd.error().reason};
  FileStamp ignored;
  return read_fd(fd->get(), path, ignored);
}

const PasswdFile::Index* PasswdFile::index() const {
  if (index_) return index_.get();
  if (++lookups_ < 2) return nullptr;
  auto index = std::make_shared<Index>();
  each_line(text_, [&](std::string_view line, size_t) {
    Fields f;
    if (classify(line, f) != PasswdLine::entry) return false;
    size_t offset = static_cast<size_t>(line.data() - text_.data());
    index->by_uid.emplace(f.uid, offset);  // the first line of a uid or name stays
    index->by_name.emplace(std::string(f.f[0]), offset);
    return false;
  });
  index_ = std::move(index);
  return index_.get();
}

std::optional<PasswdEntry> PasswdFile::entry_at(size_t offset) const {
  std::string_view line = std::string_view(text_).substr(offset);
  line = line.substr(0, line.find('\n'));
  Fields f;
  if (classify(line, f) != PasswdLine::entry) return std::nullopt;
  return to_entry(f);
}

std::optional<PasswdEntry> PasswdFile::by_name(std::string_view name) const {
  std::optional<PasswdEntry> found;
  if (name.empty()) return found;
  if (const Index* ix = index()) {
    auto it = ix->by_name.find(std::string(name));
    return it == ix->by_name.end() ? found : entry_at(it->second);
  }
  each_line(text_, [&](std::string_view line, size_t) {
    // Only a line that starts with "name:" is parsed at all.
    if (line.size() <= name.size() || line[name.size()] != ':' || line.compare(0, name.size(), name) != 0) {
      return false;
    }
    Fields f;
    if (classify(line, f) != PasswdLine::entry || f.f[0] != name) return false;
    found = to_entry(f);
    return true;
  });
  return found;
}

std::optional<PasswdEntry> PasswdFile::by_uid(uid_t uid) const {
  std::optional<PasswdEntry> found;
  if (const Index* ix = index()) {
    auto it = ix->by_uid.find(static_cast<uint32_t>(uid));
    return it == ix->by_uid.end() ? found : entry_at(it->second);
  }
  each_line(text_, [&](std::string_view line, size_t) {
    Fields f;
    if (classify(line, f) != PasswdLine::entry || f.uid != uid) return false;
    found = to_entry(f);
    return true;
  });
  return found;
}

std::vector<PasswdEntry> PasswdFile::entries() const {
  std::vector<PasswdEntry> out;
  each_line(text_, [&](std::string_view line, size_t) {
    Fields f;
    if (classify(line, f) == PasswdLine::entry) out.push_back(to_entry(f));
    return false;
  });
  return out;
}

std::vector<size_t> PasswdFile::malformed_lines() const {
  std::vector<size_t> out;
  each_line(text_, [&](std::string_view line, size_t lineno) {
    Fields f;
    if (classify(line, f) == PasswdLine::malformed) out.push_back(lineno);
    return false;
  });
  return out;
}

Result<std::optional<PasswdEntry>> passwd_by_name(std::string_view name, const std::string& path) {
  return with_file<PasswdEntry>(path, [&](const PasswdFile& f) { return f.by_name(name); });
}

void passwd_forget() { cache().file.reset(); }

Result<std::optional<PasswdEntry>> passwd_by_uid(uid_t uid, const std::string& path) {
  return with_file<PasswdEntry>(path, [&](const PasswdFile& f) { return f.by_uid(uid); });
}

}  // namespace quail
