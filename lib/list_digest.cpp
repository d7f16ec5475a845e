// Digests: see list_digest.hpp and queue-layout/lists.md ("Digests").
#include "list_digest.hpp"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <dirent.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "date.hpp"
#include "durable.hpp"
#include "fd.hpp"

namespace quail::list {
namespace {

std::string pending_dir(const List& l) { return l.digest.dir() + "/pending"; }

Status make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0) return fsync_dir(dir_of(path));
  if (errno == EEXIST) return {};
  return sys_error(ErrorKind::temporary, "mkdir " + path);
}

// The pending posts' numbers, ascending; names that are not numbers are left alone.
Result<std::vector<uint64_t>> pending(const List& l) {
  std::vector<uint64_t> out;
  DIR* d = ::opendir(pending_dir(l).c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return sys_error(ErrorKind::temporary, "open " + pending_dir(l));
  }
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n.empty() || n.size() > 18 || n.find_first_not_of("0123456789") != std::string_view::npos) continue;
    uint64_t v = 0;
    for (char c : n) v = v * 10 + static_cast<uint64_t>(c - '0');
    out.push_back(v);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// The time the digest clock starts from: the last digest (digest/seq's mtime),
// else the oldest pending post.
int64_t clock_start(const List& l, uint64_t oldest) {
  struct stat st;
  if (::stat((l.digest.dir() + "/seq").c_str(), &st) == 0) return st.st_mtime;
  if (::stat((pending_dir(l) + "/" + std::to_string(oldest)).c_str(), &st) == 0) return st.st_mtime;
  return now();
}

std::string digest_message(const List& l, uint64_t k, const std::vector<std::string>& posts) {
  unsigned char rnd[12];
  randombytes_buf(rnd, sizeof rnd);
  char hex[25];
  sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
  std::string boundary = std::string("quail-digest-") + hex;
  std::string subject = (l.cfg.prefix.empty() ? "" : l.cfg.prefix + " ") + "digest " + std::to_string(k) + " of " +
                        l.cfg.address + ", " + std::to_string(posts.size()) + " posts";
  std::string m = "From: " + l.cfg.address + "\nTo: " + l.cfg.address + "\nSubject: " + subject + "\nDate: " +
                  rfc5322_date(std::time(nullptr)) + "\nMessage-ID: <digest." + std::to_string(k) + "." + hex + "@" +
                  l.cfg.domain() + ">\n" + list_header_fields(l.cfg) + "Precedence: list\nMIME-Version: 1.0\n" +
                  "Content-Type: multipart/digest; boundary=\"" + boundary + "\"\n\n" +
                  "This digest holds " + std::to_string(posts.size()) + " posts to " + l.cfg.address + ".\n";
  // In multipart/digest a part without a header is message/rfc822 (RFC 2046 5.1.5).
  for (const auto& p : posts) {
    m += "\n--" + boundary + "\n\n" + p;
    if (!p.empty() && p.back() != '\n') m += "\n";
  }
  m += "\n--" + boundary + "--\n";
  return m;
}

}  // namespace

Status collect_for_digest(const List& l, uint64_t n, std::string_view copy) {
  if (auto s = make_dir(l.digest.dir()); !s) return s;
  if (auto s = make_dir(pending_dir(l)); !s) return s;
  return write_file_durable(pending_dir(l) + "/" + std::to_string(n), copy, 0600);
}

Result<std::string> send_digest(const List& l, bool force) {
  if (auto s = make_dir(l.digest.dir()); !s) return s.error();
  auto lock = l.digest.lock();
  if (!lock) return lock.error();
  auto nums = pending(l);
  if (!nums) return nums.error();
  if (nums->empty()) return std::string("no posts wait for a digest");
  std::vector<std::string> posts;
  size_t total = 0;
  for (uint64_t n : *nums) {
    auto text = read_file(pending_dir(l) + "/" + std::to_string(n), 64 << 20);
    if (!text) return text.error();
    total += text->size();
    posts.push_back(std::move(*text));
  }
  bool due = force || static_cast<int64_t>(total) >= l.cfg.digest_size ||
             now() - clock_start(l, nums->front()) >= l.cfg.digest_interval;
  if (!due) return std::string("the digest waits (" + std::to_string(posts.size()) + " posts)");
  std::vector<std::string> rcpts;
  if (auto s = l.digest.for_each([&](const Subscriber& s) { rcpts.push_back(s.address); }); !s) return s.error();
  auto last = l.digest.last_post();
  if (!last) return last.error();
  uint64_t k = *last + 1;
  // VERP as for posts: each copy returns to <list>-return-d<k>-<local>=<host>@, counted against the digest subscriber.
  if (!rcpts.empty()) {
    std::string sender = l.cfg.address_for("return-d" + std::to_string(k) + "-") + "-@[]";
    if (auto s = inject(l.cfg, sender, rcpts, digest_message(l, k, posts)); !s) return s.error();
  }
  // The number, then the posts go: a crash between them sends these posts again
  // in the next digest (a duplicate, never a loss).
  if (auto s = l.digest.set_last_post(k); !s) return s.error();
  for (uint64_t n : *nums) ::unlink((pending_dir(l) + "/" + std::to_string(n)).c_str());
  if (auto s = fsync_dir(pending_dir(l)); !s) return s.error();
  return "digest " + std::to_string(k) + " of " + std::to_string(posts.size()) + " posts sent to " +
         std::to_string(rcpts.size());
}

}  // namespace quail::list
