// 8-bit to 7-bit conversion of a message for a peer without 8BITMIME (RFC 6152
// section 3, RFC 2045): each leaf MIME part with 8-bit content is re-encoded
// quoted-printable, recursing into multipart/* and message/rfc822. Messages are
// stored with LF line ends (queue-layout/) and so is the result. Trusts nothing.
#pragma once
#include <string>
#include <string_view>

namespace quail {

// True when any byte is >= 0x80 (or NUL, which 7bit forbids too).
bool has_8bit(std::string_view s);

// The message with every 8-bit leaf body quoted-printable. What cannot be
// converted is left as it is: 8-bit header fields (only SMTPUTF8 carries them), and
// a body already labelled base64 or quoted-printable that still holds 8-bit bytes.
// A top-level body without MIME headers gains MIME-Version and a text/plain
// Content-Type (charset utf-8 when the bytes are valid UTF-8, else unknown-8bit).
std::string downgrade_8bit(std::string_view message);

// RFC 2045 6.7 quoted-printable of an LF-terminated body, lines at most 76 octets.
std::string quoted_printable(std::string_view body);

}  // namespace quail
