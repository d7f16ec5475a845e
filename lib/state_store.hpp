// The abuse-control state store: small counters and timestamps with an expiry,
// shared by every smtpd process of an install (greylisting triplets, rate-limit
// counters). Two backends behind one interface, chosen by control/store: LMDB
// under ROOT/state/store/ (the embedded default) or a Redis server shared by
// several MX hosts. Format, concurrency and crash behaviour: queue-layout/store.md.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace quail {

// One live entry, for the administrator's tools.
struct StateEntry {
  std::string key;
  int64_t value = 0;
  int64_t expires = 0;  // Unix time; 0: never
};

// Keys are at most this long (LMDB's default key limit is 511 bytes).
inline constexpr size_t max_state_key = 400;

class StateStore {
 public:
  virtual ~StateStore() = default;
  // The value of key, nullopt when absent or expired at now.
  virtual Result<std::optional<int64_t>> get(std::string_view key, int64_t now) = 0;
  // Sets key to value until now + ttl seconds (ttl 0: no expiry).
  virtual Status put(std::string_view key, int64_t value, int64_t ttl, int64_t now) = 0;
  // Adds delta to key atomically and returns the new value. An absent or expired
  // key starts from 0 and expires at now + ttl; a live key keeps its expiry.
  virtual Result<int64_t> add(std::string_view key, int64_t delta, int64_t ttl, int64_t now) = 0;
  // Removes key; absent is not an error.
  virtual Status erase(std::string_view key) = 0;
  // Every live entry whose key starts with prefix, in no particular order.
  virtual Result<std::vector<StateEntry>> scan(std::string_view prefix, int64_t now) = 0;
  // Removes expired entries (LMDB; Redis expires its own) and returns how many.
  virtual Result<size_t> purge(int64_t now) = 0;
  // "lmdb ROOT/state/store" or "redis 127.0.0.1:6379", for logs and tools.
  virtual std::string describe() const = 0;
};

// Where control/store points.
struct StateStoreConfig {
  enum class Kind { lmdb, redis } kind = Kind::lmdb;
  std::string host;  // redis: an IP address literal
  uint16_t port = 6379;
};

// Parses control/store's value: "lmdb", or "redis://IP:PORT" ("redis://[::1]:6379";
// the port may be left out). format error when malformed.
Result<StateStoreConfig> parse_state_store_config(std::string_view text);

// Opens the store control/store names (temporary error when it cannot be opened;
// config error when control/store is malformed).
Result<std::unique_ptr<StateStore>> open_state_store(const std::string& root);

// The backends, for tests and tools. timeout_ms bounds every Redis exchange.
Result<std::unique_ptr<StateStore>> open_lmdb_state_store(const std::string& dir);
Result<std::unique_ptr<StateStore>> open_redis_state_store(const std::string& host, uint16_t port, int timeout_ms);

// ROOT/state/store: the LMDB environment's directory.
std::string lmdb_store_dir(const std::string& root);

}  // namespace quail
