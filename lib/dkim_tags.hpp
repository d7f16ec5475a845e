// DKIM tag lists (RFC 6376 3.2) and the two things written in them: the
// DKIM-Signature field (3.5) and the key record published in DNS (3.6.1).
// Strict parsers of outside input: unit tested (tests/unit/dkim_tags_test.cpp)
// and fuzzed (tests/fuzz/dkim_tags_fuzz.cpp). No crypto here.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace quail::dkim {

struct Tag {
  std::string name;
  std::string value;         // without the FWS around it; FWS inside kept as written
  size_t value_begin = 0;    // where the value sits in the parsed text (for b= removal)
  size_t value_end = 0;
};

// tag-list = tag-spec *( ";" tag-spec ) [ ";" ]; FWS may be CRLF or LF then WSP.
// format error on a bad name, a missing "=", a byte outside VALCHAR, an empty
// spec between two ";", or a tag given twice.
Result<std::vector<Tag>> parse_tag_list(std::string_view text);

// The value of tag `name`, or nullptr.
const Tag* find_tag(const std::vector<Tag>& tags, std::string_view name);

// A value with every FWS removed (b=, bh=, p=).
std::string strip_fws(std::string_view v);
// Helpers for the values: a colon list (h=, q=, s=, t=) with FWS removed; ASCII
// lowercase; a DNS name of at least min_labels labels (letters, digits, hyphens);
// a decimal of at most max_digits digits; strict base64 after FWS is removed.
std::vector<std::string> colon_list(std::string_view v);
std::string ascii_lower(std::string_view s);
bool dns_name(std::string_view s, int min_labels);
std::optional<uint64_t> number(std::string_view s, size_t max_digits);
std::optional<std::string> base64(std::string_view v);

enum class Algorithm { rsa_sha256, ed25519_sha256 };
enum class Canon { simple, relaxed };

// A DKIM-Signature field's value, checked as RFC 6376 3.5 and 6.1.1 demand.
struct Signature {
  Algorithm algorithm = Algorithm::rsa_sha256;
  std::string algorithm_name;  // a= as written, lowercase
  std::string b;               // the signature, decoded
  std::string bh;              // the body hash, decoded
  Canon header_canon = Canon::simple, body_canon = Canon::simple;
  std::string domain;          // d=, lowercase
  std::string selector;        // s=, lowercase
  std::vector<std::string> headers;  // h=, lowercase names in order
  std::string identity;        // i= ("@d" when absent)
  std::optional<uint64_t> length;    // l=
  std::optional<uint64_t> timestamp, expiration;  // t=, x=
  size_t b_begin = 0, b_end = 0;     // the b= value's place in the field value
};

// Why a signature is not even checked: permerror (bad syntax, a missing tag) or
// policy (rsa-sha1 and other algorithms refused here, RFC 8301).
struct SignatureProblem {
  bool policy = false;
  std::string reason;
};

// Parses a DKIM-Signature field value (after the colon, folded as received).
// On failure the result carries what could still be read (d=, s=, a=).
struct ParsedSignature {
  std::optional<Signature> sig;
  SignatureProblem problem;
  std::string domain, selector, algorithm;
};
ParsedSignature parse_signature(std::string_view value);

// A key record (RFC 6376 3.6.1, RFC 8463): v=DKIM1 first if present, k= rsa or
// ed25519, p= (empty: revoked), h= hash list, s= service list, t= flags.
struct KeyRecord {
  Algorithm key_type = Algorithm::rsa_sha256;  // k=: rsa (the default) or ed25519
  std::string public_key;  // p=, decoded; empty when the key is revoked
  bool revoked = false;
  bool testing = false;    // t=y
  bool strict = false;     // t=s: i= must be in d= exactly, not a subdomain
};
// format error with a reason: a bad tag list, v= not DKIM1 or not first, unknown
// k=, h= without sha256, s= without email or *, p= missing or not base64.
Result<KeyRecord> parse_key_record(std::string_view text);

}  // namespace quail::dkim
