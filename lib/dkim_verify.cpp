// Verification of a message's DKIM signatures (RFC 6376 6): see dkim.hpp.
#include <ctime>

#include "dkim.hpp"
#include "dkim_canon.hpp"

namespace quail::dkim {
namespace {

using quail::dns::DnsStatus;

// A field's value after the colon, without its final line break; offset: where it starts in raw.
std::string_view field_value(const HeaderField& f, size_t& offset) {
  std::string_view raw = f.raw;
  size_t colon = raw.find(':');
  offset = colon == std::string_view::npos ? raw.size() : colon + 1;
  std::string_view v = raw.substr(offset);
  if (!v.empty() && v.back() == '\n') v.remove_suffix(1);
  if (!v.empty() && v.back() == '\r') v.remove_suffix(1);
  return v;
}

// The key record for s._domainkey.d: the first TXT record that parses.
Status fetch_key(const Signature& s, const TxtLookup& lookup, KeyRecord& key, std::string& why) {
  std::vector<std::string> txt;
  std::string dns_why;
  std::string name = s.selector + "._domainkey." + s.domain;
  switch (lookup(name, txt, dns_why)) {
    case DnsStatus::temporary:
      why = "key lookup " + name + ": " + (dns_why.empty() ? "temporary DNS failure" : dns_why);
      return Status::temperror;
    case DnsStatus::nxdomain:
    case DnsStatus::nodata:
      why = "no key at " + name;
      return Status::permerror;
    case DnsStatus::ok:
      break;
  }
  std::string first_error;
  for (const auto& t : txt) {
    auto k = parse_key_record(t);
    if (k) {
      key = std::move(*k);
      return Status::pass;
    }
    if (first_error.empty()) first_error = k.error().reason;
  }
  why = first_error.empty() ? "no key at " + name : first_error;
  return Status::permerror;
}

VerifyResult check_one(const std::vector<HeaderField>& fields, const HeaderField& field, std::string_view body,
                       const TxtLookup& lookup, int64_t now) {
  VerifyResult r;
  size_t offset = 0;
  std::string_view value = field_value(field, offset);
  ParsedSignature p = parse_signature(value);
  r.domain = p.domain;
  r.selector = p.selector;
  r.algorithm = p.algorithm;
  auto done = [&](Status st, std::string why) {
    r.status = st;
    r.reason = std::move(why);
    return r;
  };
  if (!p.sig) return done(p.problem.policy ? Status::policy : Status::permerror, p.problem.reason);
  const Signature& s = *p.sig;
  r.identity = s.identity;
  if (s.expiration && static_cast<int64_t>(*s.expiration) < now) return done(Status::fail, "signature expired");
  KeyRecord key;
  std::string why;
  Status ks = fetch_key(s, lookup, key, why);
  if (ks != Status::pass) return done(ks, why);
  if (key.revoked) return done(Status::permerror, "key revoked");
  if (key.strict && s.identity.substr(s.identity.rfind('@') + 1) != s.domain) return done(Status::permerror, "i= is a subdomain of d= but the key has t=s");
  std::string cbody = canon_body(body, s.body_canon);
  uint64_t signed_len = cbody.size();
  if (s.length) {
    if (*s.length > cbody.size()) return done(Status::fail, "l= is longer than the body");
    signed_len = *s.length;
  }
  if (sha256(std::string_view(cbody).substr(0, signed_len)) != s.bh) return done(Status::fail, "body hash did not verify");
  // The signature's own field last, its b= value emptied and no final CRLF.
  std::string own = field.raw.substr(0, offset + s.b_begin) + field.raw.substr(offset + s.b_end);
  std::string data = selected_headers(fields, s.headers, s.header_canon) + canon_header(own, s.header_canon);
  data.resize(data.size() - 2);
  switch (check_signature(key, s.algorithm, sha256(data), s.b, why)) {
    case KeyCheck::good:
      break;
    case KeyCheck::mismatch:
      return done(Status::fail, why);
    case KeyCheck::unusable:
      return done(Status::permerror, why);
    case KeyCheck::weak:
      return done(Status::policy, why);
  }
  if (signed_len < cbody.size()) {
    return done(Status::policy, "l= leaves " + std::to_string(cbody.size() - signed_len) + " body bytes unsigned");
  }
  return done(Status::pass, key.testing ? "key in testing mode (t=y)" : "");
}

}  // namespace

std::string_view status_name(Status s) {
  switch (s) {
    case Status::pass: return "pass";
    case Status::fail: return "fail";
    case Status::neutral: return "neutral";
    case Status::policy: return "policy";
    case Status::temperror: return "temperror";
    case Status::permerror: return "permerror";
  }
  return "neutral";
}

std::vector<VerifyResult> verify(std::string_view message, const TxtLookup& lookup_txt) {
  return verify(message, lookup_txt, static_cast<int64_t>(std::time(nullptr)));
}

std::vector<VerifyResult> verify(std::string_view message, const TxtLookup& lookup_txt, int64_t now) {
  std::vector<VerifyResult> out;
  HeaderSplit split = split_message(message);
  auto fields = parse_header(message.substr(0, split.header_end));
  if (!fields) return out;  // split_message stops at the first line that is not a field
  std::string_view body = split.body_start <= message.size() ? message.substr(split.body_start) : std::string_view();
  for (const auto& f : *fields) {
    if (!f.is("DKIM-Signature")) continue;
    if (out.size() >= max_signatures) {
      size_t offset = 0;
      ParsedSignature p = parse_signature(field_value(f, offset));
      out.push_back({Status::neutral, p.domain, p.selector, p.algorithm, "not checked: more than 5 signatures", ""});
      continue;
    }
    out.push_back(check_one(*fields, f, body, lookup_txt, now));
  }
  return out;
}

}  // namespace quail::dkim
