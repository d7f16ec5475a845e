// The local spawner's protocol (system installs): queue-send, unprivileged, asks
// local-spawn, root, to run local-deliver as the recipient's user. One request or
// reply per SOCK_SEQPACKET packet; the request carries the open queue file (SCM_RIGHTS),
// positioned at the message. See man/local-spawn.8. local-spawn trusts no field.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "fd.hpp"
#include "result.hpp"

namespace quail {

struct LspawnRequest {
  uint64_t dlv = 0;
  uint64_t message_length = 0;
  std::string sender;
  std::string recipient;
};

struct LspawnReply {
  uint64_t dlv = 0;
  int code = 111;      // local-deliver's exit code; 111 for a crash, a signal or our own trouble
  std::string reason;  // one line, ending in "(#x.y.z)"
};

// Encodings (fields separated by NUL), exposed for tests and the fuzzer.
std::string encode_request(const LspawnRequest& r);
Result<LspawnRequest> decode_request(std::string_view packet);
std::string encode_reply(const LspawnReply& r);
Result<LspawnReply> decode_reply(std::string_view packet);

// Sends a request with msg_fd attached.
Status send_request(int sock, const LspawnRequest& r, int msg_fd);
// Receives a request and its fd; not_found at end of stream (the peer exited).
Result<LspawnRequest> recv_request(int sock, Fd& msg_fd);
Status send_reply(int sock, const LspawnReply& r);
// not_found at end of stream.
Result<LspawnReply> recv_reply(int sock);

}  // namespace quail
