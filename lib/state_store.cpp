// control/store: which backend lib/state_store opens. See store.hpp.
#include "state_store.hpp"

#include <arpa/inet.h>

#include "control.hpp"

namespace quail {
namespace {

// Every Redis exchange: long enough for a loaded server, short enough that a
// dead one delays a session by seconds, not minutes.
constexpr int redis_timeout_ms = 2000;

}  // namespace

Result<StateStoreConfig> parse_state_store_config(std::string_view text) {
  StateStoreConfig c;
  if (text == "lmdb") return c;
  Error bad{ErrorKind::format, "store must be lmdb or redis://IP:PORT: " + std::string(text.substr(0, 100))};
  constexpr std::string_view scheme = "redis://";
  if (text.substr(0, scheme.size()) != scheme) return bad;
  std::string_view rest = text.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::string_view port;
  bool has_port = false;
  if (!rest.empty() && rest[0] == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad;
    c.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty() && rest[0] != ':') return bad;
    has_port = !rest.empty();
    if (has_port) port = rest.substr(1);
  } else {
    size_t colon = rest.find(':');
    c.host = std::string(rest.substr(0, colon));
    has_port = colon != std::string_view::npos;
    if (has_port) port = rest.substr(colon + 1);
    if (c.host.find(':') != std::string::npos) return bad;
  }
  unsigned char addr[16];
  if (::inet_pton(AF_INET, c.host.c_str(), addr) != 1 && ::inet_pton(AF_INET6, c.host.c_str(), addr) != 1) return bad;
  if (has_port) {
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) return bad;
    unsigned long p = std::stoul(std::string(port));
    if (p == 0 || p > 65535) return bad;
    c.port = static_cast<uint16_t>(p);
  }
  c.kind = StateStoreConfig::Kind::redis;
  return c;
}

Result<std::unique_ptr<StateStore>> open_state_store(const std::string& root) {
  auto text = Control(root).line("store");
  if (!text) return text.error();
  auto c = parse_state_store_config(*text);
  if (!c) return Error{ErrorKind::config, root + "/control/store:1: " + c.error().reason};
  if (c->kind == StateStoreConfig::Kind::lmdb) return open_lmdb_state_store(lmdb_store_dir(root));
  return open_redis_state_store(c->host, c->port, redis_timeout_ms);
}

}  // namespace quail
