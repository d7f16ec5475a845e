// A list's subscribers and post counter on disk: LISTDIR/subscribers/00..ff (one
// file per hash bucket, sorted lines), LISTDIR/seq, serialised by LISTDIR/lock.
// Spec: queue-layout/lists.md. A change rewrites one bucket of about 1/256 of the
// set (write, fsync, rename, fsync the directory), never the whole list.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"
#include "service_lock.hpp"

namespace quail {

struct Subscriber {
  std::string address;       // lowercased local@domain
  bool active = true;        // false: a tombstone left by an unsubscription (see lists.md, "Cookies")
  int64_t changed = 0;       // when it was subscribed or unsubscribed
  uint32_t bounces = 0;      // bounces counted since first_bounce
  int64_t first_bounce = 0;  // 0: none
  int64_t last_bounce = 0;
  int64_t probed = 0;        // when a probe was last sent, 0: never
  bool operator==(const Subscriber&) const = default;
};

inline constexpr int list_buckets = 256;

// The bucket (0..255) an address lives in: FNV-1a of the lowercased address.
int bucket_of(std::string_view address);
// Parses one bucket file: `+|- changed bounces first last probed address` lines,
// sorted by address without duplicates. format error "<name>:<line>: <why>".
Result<std::vector<Subscriber>> parse_bucket(std::string_view text, const std::string& name);
// The text of a bucket (sorts a copy; parse_bucket(serialize_bucket(v)) == sorted v).
std::string serialize_bucket(std::vector<Subscriber> subs);

// Counts one bounce of s's mail at time now and says whether to probe it: a probe
// goes out once s has bounced for `window` seconds (from its first counted bounce)
// and none is outstanding; a probe older than `window` that did not bounce back
// clears the count first (the address works again).
bool note_bounce(Subscriber& s, int64_t now, int64_t window);

class ListStore {
 public:
  explicit ListStore(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }

  // The list's lock (LISTDIR/lock): every change to subscribers/ or seq holds it.
  Result<FileLock> lock() const;

  // One bucket's subscribers (a missing file is an empty bucket).
  Result<std::vector<Subscriber>> load_bucket(int bucket) const;
  // Replaces one bucket durably; tombstones changed before prune_before are dropped.
  Status save_bucket(int bucket, std::vector<Subscriber> subs, int64_t prune_before) const;

  // The record for an address (active or tombstone), or nullopt.
  Result<std::optional<Subscriber>> find(std::string_view address) const;
  // Under the caller's lock: loads the address's bucket, lets change edit its record
  // (nullopt: none; setting nullopt removes it) and saves the bucket when change
  // returns true.
  Status update(std::string_view address, int64_t prune_before,
                const std::function<bool(std::optional<Subscriber>&)>& change) const;
  // Calls f for every active subscriber, bucket by bucket.
  Status for_each(const std::function<void(const Subscriber&)>& f) const;

  // The number of the last post distributed (0 before the first); LISTDIR/seq.
  Result<uint64_t> last_post() const;
  Status set_last_post(uint64_t n) const;

 private:
  std::string bucket_path(int bucket) const;
  std::string dir_;
};

}  // namespace quail
