// The Redis backend of lib/state_store, for sites whose MX hosts share their state:
// RESP 2 over one TCP connection per process (lib/resp), every exchange bounded
// by a timeout. Keys are prefixed "quail:" so the server may hold other data;
// expiry is Redis's own. Atomicity of add(): MULTI/EXEC (see queue-layout/store.md).
#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include "decimal.hpp"
#include "fd.hpp"
#include "resp.hpp"
#include "state_store.hpp"

namespace quail {
namespace {

constexpr std::string_view key_prefix = "quail:";

Error redis_error(const std::string& what) { return Error{ErrorKind::temporary, "unable to " + what}; }

std::optional<int64_t> as_number(const resp::Value& v) {
  if (v.type == resp::Type::integer) return v.integer;
  if (v.type != resp::Type::bulk && v.type != resp::Type::simple) return std::nullopt;
  std::string_view s = v.text;
  bool neg = !s.empty() && s[0] == '-';
  if (neg) s.remove_prefix(1);
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  int64_t n = 0;
  for (char c : s) n = n * 10 + (c - '0');
  return neg ? -n : n;
}

// MATCH pattern for keys starting with prefix: glob characters escaped.
std::string glob_prefix(std::string_view prefix) {
  std::string out;
  for (char c : prefix) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out + "*";
}

class RedisStore : public StateStore {
 public:
  RedisStore(Fd fd, std::string where, int timeout_ms) : fd_(std::move(fd)), where_(std::move(where)), timeout_ms_(timeout_ms) {}

  Result<std::optional<int64_t>> get(std::string_view key, int64_t) override {
    auto r = call({{"GET", k(key)}});
    if (!r) return r.error();
    return as_number((*r)[0]);
  }

  Status put(std::string_view key, int64_t value, int64_t ttl, int64_t) override {
    std::string v = std::to_string(value), t = std::to_string(ttl);
    auto r = ttl > 0 ? call({{"SET", k(key), v, "EX", t}}) : call({{"SET", k(key), v}});
    if (!r) return r.error();
    if ((*r)[0].type != resp::Type::simple) return redis_error("write to " + where_ + ": " + (*r)[0].text);
    return {};
  }

  Result<int64_t> add(std::string_view key, int64_t delta, int64_t ttl, int64_t) override {
    std::string d = std::to_string(delta), t = std::to_string(ttl), kk = k(key);
    // NX creates the key with its expiry only when absent; MULTI makes the two one step.
    auto r = ttl > 0 ? call({{"MULTI"}, {"SET", kk, "0", "EX", t, "NX"}, {"INCRBY", kk, d}, {"EXEC"}})
                     : call({{"INCRBY", kk, d}});
    if (!r) return r.error();
    const resp::Value& last = r->back();
    const resp::Value* n = &last;
    if (ttl > 0) {
      if (last.type != resp::Type::array || last.elements.size() != 2) return redis_error("add in " + where_ + ": transaction failed");
      n = &last.elements[1];
    }
    if (n->type != resp::Type::integer) return redis_error("add in " + where_ + ": " + n->text);
    return n->integer;
  }

  Status erase(std::string_view key) override {
    auto r = call({{"DEL", k(key)}});
    if (!r) return r.error();
    return {};
  }

  Result<std::vector<StateEntry>> scan(std::string_view prefix, int64_t now) override {
    std::vector<StateEntry> out;
    std::string cursor = "0", match = glob_prefix(k(prefix));
    do {
      auto r = call({{"SCAN", cursor, "MATCH", match, "COUNT", "1000"}});
      if (!r) return r.error();
      const auto& v = (*r)[0];
      if (v.type != resp::Type::array || v.elements.size() != 2 || v.elements[1].type != resp::Type::array) {
        return redis_error("scan " + where_ + ": unexpected reply");
      }
      cursor = v.elements[0].text;
      std::vector<std::vector<std::string>> cmds;
      for (const auto& key : v.elements[1].elements) {
        cmds.push_back({"GET", key.text});
        cmds.push_back({"TTL", key.text});
      }
      if (cmds.empty()) continue;
      auto vals = call(cmds);
      if (!vals) return vals.error();
      for (size_t i = 0; i < v.elements[1].elements.size(); ++i) {
        auto val = as_number((*vals)[2 * i]);
        auto ttl = as_number((*vals)[2 * i + 1]);
        if (!val || !ttl || *ttl == -2) continue;  // gone meanwhile, or not ours
        out.push_back({v.elements[1].elements[i].text.substr(key_prefix.size()), *val, *ttl > 0 ? now + *ttl : 0});
      }
    } while (cursor != "0");
    return out;
  }

  Result<size_t> purge(int64_t) override { return size_t(0); }

  std::string describe() const override { return "redis " + where_; }

 private:
  static std::string k(std::string_view key) { return std::string(key_prefix) + std::string(key); }

  // Sends the commands in one write (pipelined) and reads one reply to each.
  // An error reply to one is returned as that reply; a broken or silent
  // connection is a temporary error and closes the connection for good.
  Result<std::vector<resp::Value>> call(const std::vector<std::vector<std::string>>& cmds) {
    if (!fd_.valid()) return redis_error("talk to " + where_ + ": connection lost earlier");
    std::string out;
    for (const auto& c : cmds) out += resp::command(std::vector<std::string_view>(c.begin(), c.end()));
    if (!send_all(out)) return fail("send to " + where_);
    std::vector<resp::Value> replies;
    while (replies.size() < cmds.size()) {
      resp::Value v;
      size_t used = 0;
      resp::Parse p = resp::parse(in_, v, used);
      if (p == resp::Parse::malformed) return errno = EPROTO, fail("read from " + where_ + ": malformed reply");
      if (p == resp::Parse::ok) {
        in_.erase(0, used);
        replies.push_back(std::move(v));
        continue;
      }
      if (!receive()) return fail("read from " + where_);
    }
    return replies;
  }

  Error fail(const std::string& what) {
    int err = errno;
    fd_.reset();
    if (err == 0 || err == EAGAIN) return redis_error(what + ": timed out or closed");
    return sys_error(ErrorKind::temporary, what, err);
  }

  bool wait(short events) {
    pollfd p{fd_.get(), events, 0};
    int rc;
    do rc = ::poll(&p, 1, timeout_ms_);
    while (rc < 0 && errno == EINTR);
    if (rc == 0) errno = ETIMEDOUT;
    return rc > 0;
  }

  bool send_all(std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::send(fd_.get(), s.data(), s.size(), MSG_NOSIGNAL);
      if (n > 0) {
        s.remove_prefix(size_t(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (!wait(POLLOUT)) return false;
      } else {
        return false;
      }
    }
    return true;
  }

  bool receive() {
    char buf[16384];
    for (;;) {
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n > 0) {
        if (in_.size() > resp::max_bulk * 4) return errno = EMSGSIZE, false;
        in_.append(buf, size_t(n));
        return true;
      }
      if (n == 0) return errno = ECONNRESET, false;
      if (errno != EAGAIN && errno != EINTR) return false;
      if (!wait(POLLIN)) return false;
    }
  }

  Fd fd_;
  std::string where_;
  int timeout_ms_;
  std::string in_;
};

}  // namespace

Result<std::unique_ptr<StateStore>> open_redis_state_store(const std::string& host, uint16_t port, int timeout_ms) {
  std::string where = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  sockaddr_storage ss{};
  socklen_t len;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
  } else {
    return Error{ErrorKind::config, "not an IP address: " + host};
  }
  Fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return sys_error(ErrorKind::temporary, "create a socket for " + where);
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    if (errno != EINPROGRESS) return sys_error(ErrorKind::temporary, "connect to redis " + where);
    pollfd p{fd.get(), POLLOUT, 0};
    int rc = ::poll(&p, 1, timeout_ms);
    if (rc <= 0) return Error{ErrorKind::temporary, "unable to connect to redis " + where + ": timed out"};
    int err = 0;
    socklen_t el = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) return sys_error(ErrorKind::temporary, "connect to redis " + where, err);
  }
  return std::unique_ptr<StateStore>(new RedisStore(std::move(fd), where, timeout_ms));
}

}  // namespace quail
