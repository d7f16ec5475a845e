// The local spawner's packets: see lspawn.hpp.
#include "lspawn.hpp"

#include <cstring>
#include <sys/socket.h>
#include <vector>

#include "decimal.hpp"
#include "fd_passing.hpp"
#include "envelope.hpp"

namespace quail {
namespace {

constexpr size_t max_packet = 8192;

std::vector<std::string_view> split_nul(std::string_view p) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < p.size()) {
    size_t nul = p.find('\0', start);
    if (nul == std::string_view::npos) return {};  // every field ends in NUL
    out.push_back(p.substr(start, nul - start));
    start = nul + 1;
  }
  return out;
}

// Numbers as encode_* writes them: no leading zero, no sign, at most max.
template <typename N>
bool parse_number(std::string_view s, uint64_t max, N& n) {
  auto v = parse_decimal(s, max);
  if (!v) return false;
  n = static_cast<N>(*v);
  return true;
}

bool clean(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

Error bad(const char* why) { return Error{ErrorKind::format, std::string("malformed spawner packet: ") + why}; }

}  // namespace

std::string encode_request(const LspawnRequest& r) {
  std::string p = std::to_string(r.dlv);
  p += '\0';
  p += std::to_string(r.message_length);
  p += '\0';
  p += r.sender;
  p += '\0';
  p += r.recipient;
  p += '\0';
  return p;
}

Result<LspawnRequest> decode_request(std::string_view packet) {
  auto f = split_nul(packet);
  if (f.size() != 4) return bad("request needs 4 fields");
  LspawnRequest r;
  // A message length is an off_t for local-deliver (offset + length must not wrap).
  if (!parse_number(f[0], UINT64_MAX, r.dlv) || !parse_number(f[1], decimal_int64_max, r.message_length)) {
    return bad("bad number");
  }
  if (f[2].size() > max_envelope_address || f[3].size() > max_envelope_address) return bad("address too long");
  if (!clean(f[2]) || !clean(f[3]) || f[3].empty()) return bad("bad address");
  r.sender = f[2];
  r.recipient = f[3];
  return r;
}

std::string encode_reply(const LspawnReply& r) {
  std::string p = std::to_string(r.dlv);
  p += '\0';
  p += std::to_string(r.code);
  p += '\0';
  p += r.reason.substr(0, 1000);
  p += '\0';
  return p;
}

Result<LspawnReply> decode_reply(std::string_view packet) {
  auto f = split_nul(packet);
  if (f.size() != 3) return bad("reply needs 3 fields");
  LspawnReply r;
  if (!parse_number(f[0], UINT64_MAX, r.dlv) || !parse_number(f[1], 255, r.code)) return bad("bad number");
  r.reason = f[2];
  return r;
}

Status send_request(int sock, const LspawnRequest& r, int msg_fd) {
  std::string p = encode_request(r);
  ssize_t n = send_with_fd(sock, p, msg_fd, MSG_NOSIGNAL);
  if (n != static_cast<ssize_t>(p.size())) return sys_error(ErrorKind::temporary, "send to local-spawn");
  return {};
}

Result<LspawnRequest> recv_request(int sock, Fd& msg_fd) {
  char buf[max_packet];
  msg_fd.reset();
  bool truncated = false;
  ssize_t n = recv_with_fd(sock, buf, sizeof buf, msg_fd, truncated);
  if (n < 0) return sys_error(ErrorKind::temporary, "receive from queue-send");
  if (n == 0) return Error{ErrorKind::not_found, "queue-send closed the spawner socket"};
  if (truncated) return bad("truncated");
  if (!msg_fd.valid()) return bad("no message descriptor");
  return decode_request(std::string_view(buf, static_cast<size_t>(n)));
}

Status send_reply(int sock, const LspawnReply& r) {
  std::string p = encode_reply(r);
  ssize_t n;
  do n = ::send(sock, p.data(), p.size(), MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(p.size())) return sys_error(ErrorKind::temporary, "send to queue-send");
  return {};
}

Result<LspawnReply> recv_reply(int sock) {
  char buf[max_packet];
  ssize_t n;
  do n = ::recv(sock, buf, sizeof buf, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) return sys_error(ErrorKind::temporary, "receive from local-spawn");
  if (n == 0) return Error{ErrorKind::not_found, "local-spawn closed its socket"};
  return decode_reply(std::string_view(buf, static_cast<size_t>(n)));
}

}  // namespace quail
