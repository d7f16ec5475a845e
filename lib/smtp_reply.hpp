// What a client makes of a server's replies (lib/smtp_command parses them): the
// EHLO keywords it acts on, and a reply quoted on one line for a reason text.
// Trusts nothing: the peer is any server on the Internet (tests/fuzz/smtp_reply_fuzz.cpp).
#pragma once
#include <cstdint>
#include <string>

#include "smtp_command.hpp"

namespace quail {

// Most lines one reply may have; a peer that sends more is broken.
inline constexpr size_t max_reply_lines = 200;
// Longest reply line read (RFC 5321 4.5.3.1.5 says 512 with CRLF; peers send more).
inline constexpr size_t max_reply_line = 4096;

// The reply on one line: "550 5.1.1 no such user", lines joined with " / ",
// control bytes as '?', at most 400 bytes.
std::string quote_reply(const SmtpReply& r);

// What an EHLO reply offers that a client uses (RFC 5321, 1870, 2920, 3207, 3461,
// 6152, 6531, 4954).
struct EhloOffer {
  bool pipelining = false;
  bool starttls = false;
  bool dsn = false;
  bool smtputf8 = false;
  bool eightbitmime = false;
  bool size = false;
  uint64_t size_limit = 0;  // 0: no limit declared
  bool auth_plain = false;
  bool auth_login = false;
};
EhloOffer parse_ehlo(const SmtpReply& reply);

}  // namespace quail
