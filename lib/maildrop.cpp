// A POP3 maildrop: see maildrop.hpp and queue-layout/logins.md.
#include "maildrop.hpp"

#include <algorithm>
#include <charconv>
#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <unordered_map>

#include "durable.hpp"
#include "pop3_wire.hpp"

namespace quail {
namespace {

using SizeCache = std::unordered_map<std::string_view, uint64_t>;

// "<unique> <octets>\n" lines; a line that does not parse is skipped.
SizeCache parse_cache(std::string_view text) {
  SizeCache c;
  c.reserve(static_cast<size_t>(std::count(text.begin(), text.end(), '\n')));
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) break;  // a torn last line is not trusted
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    size_t sp = line.rfind(' ');
    if (sp == std::string_view::npos || sp == 0) continue;
    std::string_view num = line.substr(sp + 1);
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
    if (num.empty() || ec != std::errc() || p != num.data() + num.size()) continue;
    c.emplace(line.substr(0, sp), v);
  }
  return c;
}

std::string_view unique_part(std::string_view name) { return name.substr(0, name.find(':')); }

uint64_t leading_seconds(std::string_view name) {
  uint64_t v = 0;
  std::from_chars(name.data(), name.data() + name.size(), v);
  return v;
}

bool open_dir_entries(int dirfd, const char* sub, std::vector<std::string>& names, bool& missing) {
  int fd = ::openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  missing = fd < 0 && errno == ENOENT;
  if (fd < 0) return missing;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return false;
  }
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
    names.emplace_back(e->d_name);
  }
  bool ok = errno == 0;
  ::closedir(d);
  return ok;
}

// Appends the messages of new/ or cur/ to out, sized from the name, from cache
// (counted in *hits) or counted by reading the file (then stale is set).
Status list(int dirfd, const char* sub, const SizeCache& cache, std::vector<MaildropMessage>& out, bool& stale,
            size_t& hits) {
  std::vector<std::string> names;
  bool missing = false;
  if (!open_dir_entries(dirfd, sub, names, missing)) return sys_error(ErrorKind::temporary, std::string("read ") + sub);
  for (auto& name : names) {
    MaildropMessage m{std::string(sub) + "/" + name, maildir_uid(name), 0, false, leading_seconds(name)};
    if (auto named = maildir_name_size(name)) {
      // A file never changes under its name, so the size its deliverer wrote holds.
      m.size = *named;
      m.sized_by_name = true;
      out.push_back(std::move(m));
      continue;
    }
    auto hit = cache.find(unique_part(name));
    if (hit != cache.end()) {
      m.size = hit->second;
      ++hits;
    } else {
      int fd = ::openat(dirfd, m.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0 && errno == ENOENT) continue;  // gone meanwhile (another reader, an expunge)
      if (fd < 0) return sys_error(ErrorKind::temporary, "open " + m.path);
      auto size = wire_size(fd);
      ::close(fd);
      if (!size) return sys_error(ErrorKind::temporary, "read " + m.path);
      m.size = *size;
      stale = true;
    }
    out.push_back(std::move(m));
  }
  return {};
}

}  // namespace

std::optional<uint64_t> maildir_name_size(std::string_view file_name) {
  std::string_view u = unique_part(file_name);
  // The fields after the unique name proper: ",S=<bytes>,W=<octets>" (Dovecot's order); W= is the one.
  for (size_t comma = u.find(','); comma != std::string_view::npos; comma = u.find(',', comma + 1)) {
    std::string_view field = u.substr(comma + 1);
    field = field.substr(0, field.find(','));
    if (field.size() < 3 || field[0] != 'W' || field[1] != '=') continue;
    std::string_view digits = field.substr(2);
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    // As a deliverer writes it: no sign, no leading zero.
    if (digits.size() > 1 && digits[0] == '0') continue;
    if (ec == std::errc() && p == digits.data() + digits.size() && digits.size() <= 19) return v;
  }
  return std::nullopt;
}

std::string maildir_uid(std::string_view file_name) {
  std::string_view u = unique_part(file_name);
  bool ok = !u.empty() && u.size() <= 70 && std::all_of(u.begin(), u.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x21 && static_cast<unsigned char>(c) <= 0x7e;
  });
  if (ok) return std::string(u);
  unsigned char h[16];
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(u.data()), u.size(), nullptr, 0);
  char hex[33];
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  return hex;
}

Result<std::optional<Maildrop>> Maildrop::lock(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return std::optional<Maildrop>(Maildrop(Fd()));
  if (fd < 0) return sys_error(ErrorKind::temporary, "open " + dir);
  Fd owner(fd);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return std::optional<Maildrop>();
    if (errno != EINTR) return sys_error(ErrorKind::temporary, "lock " + dir);
  }
  return std::optional<Maildrop>(Maildrop(std::move(owner)));
}

Status Maildrop::scan() {
  messages_.clear();
  if (!dir_.valid()) return {};
  std::string cache_text;
  if (int fd = ::openat(dir_.get(), maildrop_cache_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW); fd >= 0) {
    Fd owner(fd);
    if (!read_all(fd, cache_text, size_t{256} << 20)) cache_text.clear();
  }
  size_t cached_lines = static_cast<size_t>(std::count(cache_text.begin(), cache_text.end(), '\n'));
  SizeCache cache = parse_cache(cache_text);
  size_t hits = 0;
  for (const char* sub : {"new", "cur"}) {
    if (auto s = list(dir_.get(), sub, cache, messages_, cache_stale_, hits); !s) return s;
  }
  // Lines for messages gone (or sized by name now): rewrite it without them.
  if (cached_lines != hits) cache_stale_ = true;
  std::sort(messages_.begin(), messages_.end(), [](const MaildropMessage& a, const MaildropMessage& b) {
    if (a.delivered != b.delivered) return a.delivered < b.delivered;
    return std::string_view(a.path).substr(4) < std::string_view(b.path).substr(4);
  });
  return {};
}

Status Maildrop::save_cache() {
  if (!dir_.valid() || !cache_stale_) return {};
  std::string text;
  text.reserve(messages_.size() * 48);
  for (const auto& m : messages_) {
    if (m.sized_by_name) continue;
    text.append(unique_part(std::string_view(m.path).substr(4)));
    text += ' ';
    text += std::to_string(m.size);
    text += '\n';
  }
  std::string tmp = std::string(maildrop_cache_name) + ".tmp";
  int fd = ::openat(dir_.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return sys_error(ErrorKind::io_write, "create " + tmp);
  Fd owner(fd);
  if (!write_all(fd, text) || ::fsync(fd) != 0) {
    ::unlinkat(dir_.get(), tmp.c_str(), 0);
    return sys_error(ErrorKind::io_write, "write " + tmp);
  }
  if (::renameat(dir_.get(), tmp.c_str(), dir_.get(), maildrop_cache_name) != 0) {
    return sys_error(ErrorKind::io_write, "rename " + tmp);
  }
  cache_stale_ = false;
  return {};
}

Result<Fd> Maildrop::open_message(size_t i) const {
  int fd = ::openat(dir_.get(), messages_.at(i).path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return sys_error(errno == ENOENT ? ErrorKind::not_found : ErrorKind::temporary, "open " + messages_[i].path);
  return Fd(fd);
}

Status Maildrop::commit() {
  if (!dir_.valid()) return {};
  size_t failed = 0;
  bool touched_new = false, touched_cur = false;
  for (const auto& m : messages_) {
    bool in_new = m.path.compare(0, 4, "new/") == 0;
    if (m.deleted) {
      if (::unlinkat(dir_.get(), m.path.c_str(), 0) != 0 && errno != ENOENT) ++failed;
      (in_new ? touched_new : touched_cur) = true;
    } else if (in_new) {
      std::string to = "cur/" + m.path.substr(4) + ":2,";
      if (::renameat(dir_.get(), m.path.c_str(), dir_.get(), to.c_str()) != 0 && errno != ENOENT) ++failed;
      touched_new = touched_cur = true;
    }
  }
  for (auto [sub, touched] : {std::pair{"new", touched_new}, std::pair{"cur", touched_cur}}) {
    if (!touched) continue;
    int fd = ::openat(dir_.get(), sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) ++failed;
    if (fd >= 0) ::close(fd);
  }
  if (failed) return Error{ErrorKind::io_write, "unable to update the maildrop: " + std::to_string(failed) + " failures"};
  return {};
}

}  // namespace quail
