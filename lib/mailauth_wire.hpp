// The framing between smtpd and its mail-authentication helper, mailauth
// (man/mailauth.8, INTERFACE): one request, one answer, each a netstring
// ("LEN:payload,") whose payload is fields joined by NUL; a request may carry
// one file descriptor (SCM_RIGHTS). Trusts nothing: each side checks lengths
// (tests/fuzz/mailauth_wire_fuzz.cpp).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace quail::mailauth {

inline constexpr size_t max_frame = 256 * 1024;

// The resident helper's socket (mailauth -d, man/mailauth.8 "Resident mode"):
// ROOT/run/mailauth.sock. A session connects, sends {"session", SID} with its
// stderr attached, then speaks the frames below as it would to an exec'd helper.
std::string socket_path(const std::string& root);

std::string encode(const std::vector<std::string>& fields);
// The fields of one whole netstring (nothing after it); nullopt when malformed or
// longer than max_frame.
std::optional<std::vector<std::string>> decode(std::string_view frame);

// Sends one frame on a socket, with fd attached when fd >= 0.
Status send_frame(int sock, const std::vector<std::string>& fields, int fd = -1);
// Reads one frame within timeout_ms (-1: wait as long as it takes); a passed
// descriptor goes to *fd_out (else it is closed). not_found when the peer closed
// the socket (or reset it: gone with bytes unread) before a frame began.
Result<std::vector<std::string>> read_frame(int sock, int timeout_ms, int* fd_out = nullptr);

}  // namespace quail::mailauth
