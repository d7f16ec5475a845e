// The login failure table: see login_limits.hpp and queue-layout/logins.md.
// Each operation takes flock(LOCK_EX) for its read-modify-write of a few slots,
// so concurrent checkpassword processes never lose a count.
#include "login_limits.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <cstring>
#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>

namespace quail {
namespace {

constexpr uint32_t probes = 8;

// One slot: the first 16 bytes of BLAKE2b("u\0" name) or ("a\0" address), the
// failure count, and the time of the last failure. All zero: empty.
struct Slot {
  unsigned char key[16];
  uint32_t failures;
  uint32_t reserved;
  int64_t last;
};
static_assert(sizeof(Slot) == 32);

void slot_key(char kind, std::string_view text, unsigned char out[16]) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, 16);
  const unsigned char tag[2] = {static_cast<unsigned char>(kind), 0};
  crypto_generichash_update(&st, tag, 2);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  crypto_generichash_final(&st, out, 16);
}

class Locked {
 public:
  explicit Locked(int fd) : fd_(fd) { ok_ = ::flock(fd_, LOCK_EX) == 0; }
  ~Locked() {
    if (ok_) ::flock(fd_, LOCK_UN);
  }
  bool ok() const { return ok_; }

 private:
  int fd_;
  bool ok_;
};

// Where key lives (or would go) among its probe slots, and what is there now.
struct Found {
  uint32_t index;
  Slot slot;  // zero when the key is new (or its count has expired)
};

Result<Found> find_slot(int fd, const unsigned char key[16], int64_t now, int64_t window) {
  uint32_t start;
  std::memcpy(&start, key, sizeof start);
  Slot run[probes];
  std::optional<uint32_t> free_one;
  uint32_t oldest = 0;
  int64_t oldest_time = INT64_MAX;
  for (uint32_t i = 0; i < probes; ++i) {
    uint32_t idx = (start + i) % LoginLimits::slots;
    std::memset(&run[i], 0, sizeof(Slot));
    ssize_t n = ::pread(fd, &run[i], sizeof(Slot), static_cast<off_t>(idx) * sizeof(Slot));
    if (n < 0) return sys_error(ErrorKind::temporary, "read the login failure table");
    if (n != sizeof(Slot)) std::memset(&run[i], 0, sizeof(Slot));  // beyond the end: empty
    bool stale = run[i].failures == 0 || now - run[i].last > window || run[i].last > now + window;
    if (std::memcmp(run[i].key, key, 16) == 0) {
      Slot s = run[i];
      if (stale) std::memset(&s, 0, sizeof s);
      return Found{idx, s};
    }
    if (stale && !free_one) free_one = idx;
    if (run[i].last < oldest_time) oldest_time = run[i].last, oldest = idx;
  }
  // A full run of live slots gives up its oldest count: under a flood of names
  // the table forgets the coldest, never refuses to count the newest.
  return Found{free_one.value_or(oldest), Slot{}};
}

Status write_slot(int fd, uint32_t idx, const Slot& s) {
  ssize_t n = ::pwrite(fd, &s, sizeof s, static_cast<off_t>(idx) * sizeof(Slot));
  if (n != sizeof s) return sys_error(ErrorKind::temporary, "write the login failure table");
  return {};
}

// Under the caller's lock: adds one to the count of (kind, text) (delta > 0),
// takes one off (delta < 0) or clears it (delta == 0). Taking off or clearing a
// count that was forgotten meanwhile does nothing.
Status adjust(int fd, char kind, std::string_view text, int delta, int64_t now, int64_t window) {
  unsigned char k[16];
  slot_key(kind, text, k);
  auto f = find_slot(fd, k, now, window);
  if (!f) return f.error();
  Slot s = f->slot;
  if (delta > 0) {
    std::memcpy(s.key, k, 16);
    if (s.failures < UINT32_MAX) ++s.failures;
    s.last = now;
  } else {
    if (s.failures == 0) return {};
    if (delta == 0 || --s.failures == 0) s = Slot{};
  }
  return write_slot(fd, f->index, s);
}

}  // namespace

LoginStanding judge(const LoginPolicy& p, uint32_t user_failures, uint32_t address_failures) {
  LoginStanding s{user_failures, address_failures, false, 0};
  s.locked = user_failures >= p.user_limit || address_failures >= p.address_limit;
  auto delay = [&](uint32_t n, uint32_t free) -> int64_t {
    if (n < free) return 0;
    uint32_t doublings = std::min<uint32_t>(n - free, 16);
    return std::min<int64_t>(int64_t{2} << doublings, p.max_delay);
  };
  s.delay = std::max(delay(user_failures, p.free_failures), delay(address_failures, p.address_free_failures));
  return s;
}

std::string login_limits_path(const std::string& root) { return root + "/run/login-failures"; }

Result<LoginLimits> LoginLimits::open(const std::string& path, LoginPolicy policy) {
  if (sodium_init() < 0) return Error{ErrorKind::temporary, "unable to initialise libsodium"};
  auto fd = open_fd(path, O_RDWR | O_CREAT, 0600);
  if (!fd) return Error{ErrorKind::temporary, fd.error().reason};
  return LoginLimits(std::move(*fd), policy);
}

Result<LoginStanding> LoginLimits::standing(std::string_view user, std::string_view address, int64_t now) {
  Locked lock(fd_.get());
  if (!lock.ok()) return sys_error(ErrorKind::temporary, "lock the login failure table");
  return standing_locked(user, address, now);
}

Result<LoginStanding> LoginLimits::standing_locked(std::string_view user, std::string_view address, int64_t now) {
  unsigned char k[16];
  slot_key('u', user, k);
  auto u = find_slot(fd_.get(), k, now, policy_.window);
  if (!u) return u.error();
  uint32_t af = 0;
  if (!address.empty()) {
    slot_key('a', address, k);
    auto a = find_slot(fd_.get(), k, now, policy_.window);
    if (!a) return a.error();
    af = a->slot.failures;
  }
  return judge(policy_, u->slot.failures, af);
}

Result<LoginStanding> LoginLimits::begin(std::string_view user, std::string_view address, int64_t now) {
  Locked lock(fd_.get());
  if (!lock.ok()) return sys_error(ErrorKind::temporary, "lock the login failure table");
  auto st = standing_locked(user, address, now);
  if (!st || st->locked) return st;
  if (auto s = adjust(fd_.get(), 'u', user, 1, now, policy_.window); !s) return s.error();
  if (!address.empty()) {
    if (auto s = adjust(fd_.get(), 'a', address, 1, now, policy_.window); !s) return s.error();
  }
  return st;
}

Status LoginLimits::settle(std::string_view user, std::string_view address, Settled how, int64_t now) {
  Locked lock(fd_.get());
  if (!lock.ok()) return sys_error(ErrorKind::temporary, "lock the login failure table");
  if (auto s = adjust(fd_.get(), 'u', user, how == Settled::right ? 0 : -1, now, policy_.window); !s) return s;
  if (address.empty()) return {};
  return adjust(fd_.get(), 'a', address, -1, now, policy_.window);
}

Status LoginLimits::record_failure(std::string_view user, std::string_view address, int64_t now) {
  Locked lock(fd_.get());
  if (!lock.ok()) return sys_error(ErrorKind::temporary, "lock the login failure table");
  if (auto s = adjust(fd_.get(), 'u', user, 1, now, policy_.window); !s) return s;
  if (address.empty()) return {};
  return adjust(fd_.get(), 'a', address, 1, now, policy_.window);
}

Status LoginLimits::record_success(std::string_view user, int64_t now) {
  Locked lock(fd_.get());
  if (!lock.ok()) return sys_error(ErrorKind::temporary, "lock the login failure table");
  return adjust(fd_.get(), 'u', user, 0, now, policy_.window);
}

}  // namespace quail
