// The LMDB backend of lib/state_store: one environment under ROOT/state/store/, opened
// by each smtpd process. LMDB serialises writers with a robust process-shared
// mutex, so an add() is a read-modify-write no other process can interleave, and
// a writer killed mid-transaction leaves the last committed state (its pages are
// copy-on-write). Layout and sync policy: queue-layout/store.md.
#include <cstring>
#include <lmdb.h>
#include <sys/stat.h>

#include "state_store.hpp"

namespace quail {
namespace {

// The map is reserved address space, not disk: data.mdb grows as pages are used.
constexpr size_t map_size = size_t(1) << 30;
// Every smtpd of a busy listener may read at once; with MDB_NOTLS a slot is held
// only for one read transaction, so 1024 covers concurrencyincoming's 1000.
constexpr unsigned max_readers = 1024;

// A value: the number and its expiry, 16 bytes in the machine's byte order.
struct Packed {
  int64_t value;
  int64_t expires;
};

Error mdb_error(const std::string& what, int rc) {
  return Error{ErrorKind::temporary, "unable to " + what + ": " + mdb_strerror(rc)};
}

MDB_val as_val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

bool live(const Packed& p, int64_t now) { return p.expires == 0 || p.expires > now; }

std::optional<Packed> unpack(const MDB_val& v) {
  if (v.mv_size != sizeof(Packed)) return std::nullopt;  // not ours: treated as absent
  Packed p;
  std::memcpy(&p, v.mv_data, sizeof p);
  return p;
}

// A transaction aborted unless committed.
class Txn {
 public:
  Txn(MDB_env* env, bool write, int& rc) { rc = mdb_txn_begin(env, nullptr, write ? 0 : MDB_RDONLY, &t_); }
  ~Txn() {
    if (t_) mdb_txn_abort(t_);
  }
  int commit() {
    int rc = mdb_txn_commit(t_);
    t_ = nullptr;
    return rc;
  }
  MDB_txn* get() { return t_; }

 private:
  MDB_txn* t_ = nullptr;
};

class LmdbStore : public StateStore {
 public:
  LmdbStore(MDB_env* env, MDB_dbi dbi, std::string dir) : env_(env), dbi_(dbi), dir_(std::move(dir)) {}
  ~LmdbStore() override { mdb_env_close(env_); }

  Result<std::optional<int64_t>> get(std::string_view key, int64_t now) override {
    int rc;
    Txn t(env_, false, rc);
    if (rc) return mdb_error("begin a read of the store", rc);
    MDB_val k = as_val(key), v;
    rc = mdb_get(t.get(), dbi_, &k, &v);
    if (rc == MDB_NOTFOUND) return std::optional<int64_t>();
    if (rc) return mdb_error("read the store", rc);
    auto p = unpack(v);
    if (!p || !live(*p, now)) return std::optional<int64_t>();
    return std::optional<int64_t>(p->value);
  }

  Status put(std::string_view key, int64_t value, int64_t ttl, int64_t now) override {
    auto r = write([&](MDB_txn* t) -> Result<int64_t> {
      Packed p{value, ttl > 0 ? now + ttl : 0};
      MDB_val k = as_val(key), v{sizeof p, &p};
      int rc = mdb_put(t, dbi_, &k, &v, 0);
      if (rc) return mdb_error("write the store", rc);
      return value;
    }, now);
    if (!r) return r.error();
    return {};
  }

  Result<int64_t> add(std::string_view key, int64_t delta, int64_t ttl, int64_t now) override {
    return write([&](MDB_txn* t) -> Result<int64_t> {
      MDB_val k = as_val(key), v;
      Packed p{0, ttl > 0 ? now + ttl : 0};
      int rc = mdb_get(t, dbi_, &k, &v);
      if (rc && rc != MDB_NOTFOUND) return mdb_error("read the store", rc);
      if (rc == 0) {
        auto old = unpack(v);
        if (old && live(*old, now)) p = *old;
      }
      p.value += delta;
      v = MDB_val{sizeof p, &p};
      rc = mdb_put(t, dbi_, &k, &v, 0);
      if (rc) return mdb_error("write the store", rc);
      return p.value;
    }, now);
  }

  Status erase(std::string_view key) override {
    auto r = write([&](MDB_txn* t) -> Result<int64_t> {
      MDB_val k = as_val(key);
      int rc = mdb_del(t, dbi_, &k, nullptr);
      if (rc && rc != MDB_NOTFOUND) return mdb_error("delete from the store", rc);
      return 0;
    }, 0);
    if (!r) return r.error();
    return {};
  }

  Result<std::vector<StateEntry>> scan(std::string_view prefix, int64_t now) override {
    int rc;
    Txn t(env_, false, rc);
    if (rc) return mdb_error("begin a read of the store", rc);
    std::vector<StateEntry> out;
    rc = each(t.get(), prefix, [&](const MDB_val& k, const Packed& p) {
      if (live(p, now)) out.push_back({std::string(static_cast<char*>(k.mv_data), k.mv_size), p.value, p.expires});
      return false;
    });
    if (rc) return mdb_error("scan the store", rc);
    return out;
  }

  Result<size_t> purge(int64_t now) override {
    size_t n = 0;
    auto r = write([&](MDB_txn* t) -> Result<int64_t> {
      n = 0;
      int rc = each(t, "", [&](const MDB_val&, const Packed& p) {
        if (live(p, now)) return false;
        ++n;
        return true;
      });
      if (rc) return mdb_error("purge the store", rc);
      return 0;
    }, 0, false);
    if (!r) return r.error();
    return n;
  }

  std::string describe() const override { return "lmdb " + dir_; }

 private:
  // Runs f over the entries whose key starts with prefix; f returns true to
  // delete the entry under the cursor (write transactions only). An MDB error code.
  template <typename F>
  int each(MDB_txn* t, std::string_view prefix, F f) {
    MDB_cursor* c;
    int rc = mdb_cursor_open(t, dbi_, &c);
    if (rc) return rc;
    MDB_val k = as_val(prefix), v;
    rc = mdb_cursor_get(c, &k, &v, prefix.empty() ? MDB_FIRST : MDB_SET_RANGE);
    while (rc == 0) {
      std::string_view ks(static_cast<char*>(k.mv_data), k.mv_size);
      if (ks.substr(0, prefix.size()) != prefix) break;
      auto p = unpack(v);
      if (!p) p = Packed{0, 1};  // a malformed value counts as expired long ago
      if (f(k, *p)) {
        rc = mdb_cursor_del(c, 0);
        if (rc) break;
      }
      rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
  }

  // One write transaction running f. When the map is full, expired entries are
  // purged (in a transaction of their own) and f is tried once more.
  template <typename F>
  Result<int64_t> write(F f, int64_t now, bool retry = true) {
    int rc;
    {
      Txn t(env_, true, rc);
      if (rc) return mdb_error("begin a write to the store", rc);
      auto r = f(t.get());
      if (r) {
        rc = t.commit();
        if (rc == 0) return r;
        if (rc != MDB_MAP_FULL) return mdb_error("commit to the store", rc);
      } else if (r.error().reason.find(mdb_strerror(MDB_MAP_FULL)) == std::string::npos) {
        return r;
      }
    }
    if (!retry || now == 0) return mdb_error("write the store", MDB_MAP_FULL);
    auto purged = purge(now);
    if (!purged) return purged.error();
    return write(f, now, false);
  }

  MDB_env* env_;
  MDB_dbi dbi_;
  std::string dir_;
};

}  // namespace

std::string lmdb_store_dir(const std::string& root) { return root + "/state/store"; }

Result<std::unique_ptr<StateStore>> open_lmdb_state_store(const std::string& dir) {
  // The parent (ROOT/state) is made too: an install from before the store has none.
  std::string parent = dir.substr(0, dir.rfind('/'));
  if (!parent.empty() && ::mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST) {
    return sys_error(ErrorKind::temporary, "create " + parent);
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return sys_error(ErrorKind::temporary, "create " + dir);
  MDB_env* env;
  int rc = mdb_env_create(&env);
  if (rc) return mdb_error("create the store's environment", rc);
  mdb_env_set_mapsize(env, map_size);
  mdb_env_set_maxreaders(env, max_readers);
  // NOMETASYNC: each commit flushes the data pages but not the meta page, so a
  // power cut may undo the last transaction(s) but never corrupts the file; a
  // killed process loses nothing (the page cache holds its commits).
  rc = mdb_env_open(env, dir.c_str(), MDB_NOTLS | MDB_NOMETASYNC, 0600);
  if (rc) {
    mdb_env_close(env);
    return mdb_error("open the store " + dir, rc);
  }
  int dead;
  mdb_reader_check(env, &dead);  // frees the reader slots of killed processes
  MDB_txn* t;
  MDB_dbi dbi;
  // The unnamed database needs no write transaction (and so no writer lock) to open.
  rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &t);
  if (rc == 0) {
    rc = mdb_dbi_open(t, nullptr, 0, &dbi);
    rc = rc ? (mdb_txn_abort(t), rc) : mdb_txn_commit(t);
  }
  if (rc) {
    mdb_env_close(env);
    return mdb_error("open the store's database in " + dir, rc);
  }
  return std::unique_ptr<StateStore>(new LmdbStore(env, dbi, dir));
}

}  // namespace quail
