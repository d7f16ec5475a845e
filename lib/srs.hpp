// The Sender Rewriting Scheme for forwarded mail: a message forwarded to another
// domain leaves with the envelope sender SRS0=<cookie>=<local=domain>@<our
// domain>, so it passes SPF at the destination, and a bounce to that address
// can be verified and returned to the original sender. The cookie is
// lib/list_cookie's (issue time and a libsodium MAC over the original address),
// so nothing is stored. The reverse parser reads a stranger's local part:
// tests/fuzz/srs_fuzz.cpp. Not yet wired into forwarding and RCPT (see man/mailauth.8).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "list_cookie.hpp"

namespace quail {

// How long a bounce to an SRS address is honoured.
inline constexpr int64_t srs_lifetime = 21 * 24 * 3600;

// The SRS0 address for forwarding sender's mail from forwarder_domain at now.
// The null sender stays null; an address already ours in SRS0 form is wrapped again.
// XXX a long original address gives a local part over RFC 5321's 64 octets.
std::string srs_forward(const ListSecret& key, std::string_view sender, std::string_view forwarder_domain, int64_t now);

enum class SrsCheck { not_srs, good, forged, expired };
// Checks a recipient's local part; when good, *original is the original sender
// (lowercased). not_srs when it does not start with "SRS0=".
SrsCheck srs_reverse(const ListSecret& key, std::string_view local_part, int64_t now, std::string* original);

}  // namespace quail
