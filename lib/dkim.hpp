// DKIM (RFC 6376, RFC 8463 Ed25519, RFC 8301 crypto updates): verification of
// every signature of a message, and signing. The verifier trusts nothing in the
// message or in DNS; keys come through the caller's TXT lookup (lib/dns_resolver
// in the programs, a table in the tests). Programs using this link libcrypto.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "dkim_key.hpp"
#include "dns_resolver.hpp"
#include "result.hpp"

namespace quail::dkim {

// RFC 8601 2.7.1's results. policy: the signature verifies or could, but we refuse
// what it stands for: rsa-sha1 or an RSA key under 1024 bits (RFC 8301), or an
// l= that leaves body bytes unsigned (man/quail-dkim.8, VERIFICATION).
enum class Status { pass, fail, neutral, policy, temperror, permerror };
std::string_view status_name(Status s);

struct VerifyResult {
  Status status = Status::neutral;
  std::string domain;     // d=
  std::string selector;   // s=
  std::string algorithm;  // a=
  std::string reason;     // why, when not a plain pass; a note on a pass (testing key)
  std::string identity;   // i= (the "@d=" default when absent)
};

// TXT records of a name, as quail::dns::Resolver::txt gives them.
using TxtLookup = std::function<quail::dns::DnsStatus(const std::string& name, std::vector<std::string>& out, std::string& why)>;

// Signatures checked per message; the ones beyond come back neutral, unchecked.
inline constexpr size_t max_signatures = 5;

// One result per DKIM-Signature field, top down. The message as stored or
// received (LF or CRLF line ends). now: seconds since the epoch, for x=.
std::vector<VerifyResult> verify(std::string_view message, const TxtLookup& lookup_txt);
std::vector<VerifyResult> verify(std::string_view message, const TxtLookup& lookup_txt, int64_t now);

struct SigningKey {
  std::string domain;    // d=
  std::string selector;  // s=
  const PrivateKey* key = nullptr;
};

// The header fields signed (when present; From once more than present, so a From
// added later breaks the signature).
const std::vector<std::string_view>& signed_field_names();

// DKIM-Signature fields for message, one per key, relaxed/relaxed, folded with LF
// line ends: to be put on top of the message. temporary error when a key fails;
// format error when the header does not parse.
Result<std::string> sign(std::string_view message, const std::vector<SigningKey>& keys, int64_t now);

}  // namespace quail::dkim
