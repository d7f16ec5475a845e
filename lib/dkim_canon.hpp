// DKIM canonicalization (RFC 6376 3.4) and header selection (5.4.2): what the
// signer and the verifier hash. Messages come as stored (LF line ends, or CRLF as
// received): every line break counts as the CRLF the wire carries.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "dkim_tags.hpp"
#include "headers.hpp"

namespace quail::dkim {

// One header field (its raw text, name to final line break) canonicalized, ending in CRLF.
std::string canon_header(std::string_view raw, Canon c);

// The fields h= names, each taken bottom-up: the last instance not yet used; a
// name with no instance left adds nothing (that is how oversigning works).
std::string selected_headers(const std::vector<HeaderField>& fields, const std::vector<std::string>& names, Canon c);

// The canonical body (RFC 6376 3.4.3, 3.4.4): trailing empty lines removed;
// simple gives CRLF for an empty body, relaxed gives nothing.
std::string canon_body(std::string_view body, Canon c);

// SHA-256 (libsodium).
std::string sha256(std::string_view data);

}  // namespace quail::dkim
