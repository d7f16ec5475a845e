// Subscriber buckets and the post counter: see list_store.hpp and queue-layout/lists.md.
#include "list_store.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <sys/stat.h>

#include "address.hpp"
#include "durable.hpp"
#include "fd.hpp"

namespace quail {
namespace {

Error bad(const std::string& name, int lineno, const std::string& why) {
  return Error{ErrorKind::format, name + ":" + std::to_string(lineno) + ": " + why};
}

// One space-separated decimal field of at most 18 digits.
bool number_field(std::string_view& rest, int64_t* out) {
  size_t sp = rest.find(' ');
  if (sp == std::string_view::npos || sp == 0 || sp > 18) return false;
  int64_t v = 0;
  for (char c : rest.substr(0, sp)) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  rest.remove_prefix(sp + 1);
  return true;
}

std::string line_of(const Subscriber& s) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%c %lld %u %lld %lld %lld ", s.active ? '+' : '-',
                static_cast<long long>(s.changed), s.bounces, static_cast<long long>(s.first_bounce),
                static_cast<long long>(s.last_bounce), static_cast<long long>(s.probed));
  return buf + s.address + "\n";
}

}  // namespace

int bucket_of(std::string_view address) {
  uint32_t h = 2166136261u;
  for (char c : address) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 'A' && u <= 'Z') u = static_cast<unsigned char>(u - 'A' + 'a');
    h = (h ^ u) * 16777619u;
  }
  return static_cast<int>(h % list_buckets);
}

Result<std::vector<Subscriber>> parse_bucket(std::string_view text, const std::string& name) {
  std::vector<Subscriber> out;
  int lineno = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    ++lineno;
    if (nl == std::string_view::npos) return bad(name, lineno, "the last line has no line end");
    std::string_view rest = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (rest.size() < 2 || (rest[0] != '+' && rest[0] != '-') || rest[1] != ' ') {
      return bad(name, lineno, "expected + or - and a space");
    }
    Subscriber s;
    s.active = rest[0] == '+';
    rest.remove_prefix(2);
    int64_t bounces = 0;
    if (!number_field(rest, &s.changed) || !number_field(rest, &bounces) || !number_field(rest, &s.first_bounce) ||
        !number_field(rest, &s.last_bounce) || !number_field(rest, &s.probed) || bounces > UINT32_MAX) {
      return bad(name, lineno, "expected five numbers");
    }
    s.bounces = static_cast<uint32_t>(bounces);
    auto a = parse_address(rest, false);
    if (!a || a->quoted() || a->str() != rest || lowercase(rest) != rest) {
      return bad(name, lineno, "not a lowercased local@domain address");
    }
    if (!out.empty() && !(out.back().address < rest)) return bad(name, lineno, "not sorted or a duplicate");
    s.address = std::string(rest);
    out.push_back(std::move(s));
  }
  return out;
}

std::string serialize_bucket(std::vector<Subscriber> subs) {
  std::sort(subs.begin(), subs.end(), [](const Subscriber& a, const Subscriber& b) { return a.address < b.address; });
  std::string out;
  for (const auto& s : subs) out += line_of(s);
  return out;
}

bool note_bounce(Subscriber& s, int64_t now, int64_t window) {
  if (s.probed != 0 && now - s.probed > window) {
    s.bounces = 0;
    s.first_bounce = 0;
    s.probed = 0;
  }
  if (s.bounces < UINT32_MAX) ++s.bounces;
  if (s.first_bounce == 0) s.first_bounce = now;
  s.last_bounce = now;
  if (s.probed == 0 && now - s.first_bounce >= window) {
    s.probed = now;
    return true;
  }
  return false;
}

std::string ListStore::bucket_path(int bucket) const {
  char name[3];
  std::snprintf(name, sizeof name, "%02x", bucket & 0xff);
  return dir_ + "/subscribers/" + name;
}

Result<FileLock> ListStore::lock() const {
  // digest/ appears with its first use (digest=1 may be set after the list was made).
  if (::mkdir(dir_.c_str(), 0700) == 0) {
    if (auto s = fsync_dir(dir_of(dir_)); !s) return s.error();
  } else if (errno != EEXIST) {
    return sys_error(ErrorKind::temporary, "mkdir " + dir_);
  }
  return FileLock::acquire(dir_ + "/lock");
}

Result<std::vector<Subscriber>> ListStore::load_bucket(int bucket) const {
  std::string path = bucket_path(bucket);
  auto text = read_file(path, 64 << 20);
  if (!text) {
    if (text.error().kind == ErrorKind::not_found) return std::vector<Subscriber>();
    return text.error();
  }
  return parse_bucket(*text, path);
}

Status ListStore::save_bucket(int bucket, std::vector<Subscriber> subs, int64_t prune_before) const {
  std::erase_if(subs, [&](const Subscriber& s) { return !s.active && s.changed < prune_before; });
  // A store made after the list (digest/, when digest=1 is set later) gets its directories here.
  for (const std::string& d : {dir_, dir_ + "/subscribers"}) {
    if (::mkdir(d.c_str(), 0700) == 0) {
      if (auto s = fsync_dir(dir_of(d)); !s) return s;
    } else if (errno != EEXIST) {
      return sys_error(ErrorKind::temporary, "mkdir " + d);
    }
  }
  return write_file_durable(bucket_path(bucket), serialize_bucket(std::move(subs)), 0600);
}

Result<std::optional<Subscriber>> ListStore::find(std::string_view address) const {
  std::string a = lowercase(address);
  auto subs = load_bucket(bucket_of(a));
  if (!subs) return subs.error();
  for (auto& s : *subs) {
    if (s.address == a) return std::optional<Subscriber>(std::move(s));
  }
  return std::optional<Subscriber>();
}

Status ListStore::update(std::string_view address, int64_t prune_before,
                         const std::function<bool(std::optional<Subscriber>&)>& change) const {
  std::string a = lowercase(address);
  int b = bucket_of(a);
  auto subs = load_bucket(b);
  if (!subs) return subs.error();
  auto it = std::find_if(subs->begin(), subs->end(), [&](const Subscriber& s) { return s.address == a; });
  std::optional<Subscriber> rec;
  if (it != subs->end()) rec = *it;
  if (!change(rec)) return {};
  if (it != subs->end()) subs->erase(it);
  if (rec) {
    rec->address = a;
    subs->push_back(std::move(*rec));
  }
  return save_bucket(b, std::move(*subs), prune_before);
}

Status ListStore::for_each(const std::function<void(const Subscriber&)>& f) const {
  for (int b = 0; b < list_buckets; ++b) {
    auto subs = load_bucket(b);
    if (!subs) return subs.error();
    for (const auto& s : *subs) {
      if (s.active) f(s);
    }
  }
  return {};
}

Result<uint64_t> ListStore::last_post() const {
  auto text = read_file(dir_ + "/seq", 64);
  if (!text) {
    if (text.error().kind == ErrorKind::not_found) return uint64_t{0};
    return text.error();
  }
  std::string_view v = *text;
  if (!v.empty() && v.back() == '\n') v.remove_suffix(1);
  if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string_view::npos) {
    return Error{ErrorKind::format, dir_ + "/seq: not a number"};
  }
  uint64_t n = 0;
  for (char c : v) n = n * 10 + static_cast<uint64_t>(c - '0');
  return n;
}

Status ListStore::set_last_post(uint64_t n) const {
  return write_file_durable(dir_ + "/seq", std::to_string(n) + "\n", 0600);
}

}  // namespace quail
