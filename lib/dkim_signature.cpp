// DKIM-Signature values (RFC 6376 3.5, 6.1.1; RFC 8301, RFC 8463) and key records
// (RFC 6376 3.6.1): see dkim_tags.hpp.
#include "dkim_tags.hpp"

namespace quail::dkim {
namespace {

bool valid_field_name(std::string_view n) {
  if (n.empty()) return false;
  for (unsigned char c : n) {
    if (c < 33 || c > 126 || c == ':') return false;
  }
  return true;
}

std::optional<Canon> canon_name(std::string_view s) {
  if (s == "simple") return Canon::simple;
  if (s == "relaxed") return Canon::relaxed;
  return std::nullopt;
}

// The problem with one tag of a signature, or "" when it is fine.
std::string check_tags(const std::vector<Tag>& tags, Signature& s) {
  auto get = [&](std::string_view n) { return find_tag(tags, n); };
  for (const char* req : {"v", "a", "b", "bh", "d", "h", "s"}) {
    if (!get(req)) return std::string("missing tag ") + req + "=";
  }
  if (get("v")->value != "1") return "v= is not 1";
  auto b = base64(get("b")->value);
  if (!b || b->empty()) return "b= is not base64";
  s.b = std::move(*b);
  s.b_begin = get("b")->value_begin;
  s.b_end = get("b")->value_end;
  auto bh = base64(get("bh")->value);
  if (!bh || bh->size() != 32) return "bh= is not a base64 SHA-256 hash";
  s.bh = std::move(*bh);
  if (const Tag* c = get("c")) {
    std::string v = ascii_lower(c->value);
    size_t slash = v.find('/');
    auto hc = canon_name(v.substr(0, slash));
    auto bc = slash == std::string::npos ? std::optional<Canon>(Canon::simple) : canon_name(v.substr(slash + 1));
    if (!hc || !bc) return "c= is not simple or relaxed";
    s.header_canon = *hc;
    s.body_canon = *bc;
  }
  s.domain = ascii_lower(get("d")->value);
  if (!dns_name(s.domain, 2)) return "d= is not a domain name";
  s.selector = ascii_lower(get("s")->value);
  if (!dns_name(s.selector, 1)) return "s= is not a selector";
  bool from = false;
  for (auto& n : colon_list(get("h")->value)) {
    if (!valid_field_name(n)) return "h= lists a bad field name";
    s.headers.push_back(ascii_lower(n));
    from = from || s.headers.back() == "from";
  }
  if (!from) return "h= does not include From";
  if (const Tag* i = get("i")) {
    size_t at = i->value.rfind('@');
    if (at == std::string::npos) return "i= has no @";
    std::string idom = ascii_lower(i->value.substr(at + 1));
    bool sub = idom.size() > s.domain.size() && idom.compare(idom.size() - s.domain.size(), s.domain.size(), s.domain) == 0 &&
               idom[idom.size() - s.domain.size() - 1] == '.';
    if (idom != s.domain && !sub) return "i= is not within d=";
    s.identity = i->value;
  } else {
    s.identity = "@" + s.domain;
  }
  if (const Tag* l = get("l")) {
    s.length = number(l->value, 18);
    if (!s.length) return "l= is not a number";
  }
  if (const Tag* q = get("q")) {
    bool dns = false;
    for (auto& m : colon_list(q->value)) dns = dns || ascii_lower(m) == "dns/txt";
    if (!dns) return "q= does not offer dns/txt";
  }
  for (auto [name, into] : {std::pair{"t", &s.timestamp}, std::pair{"x", &s.expiration}}) {
    if (const Tag* t = get(name)) {
      *into = number(t->value, 12);
      if (!*into) return std::string(name) + "= is not a time";
    }
  }
  if (s.timestamp && s.expiration && *s.expiration < *s.timestamp) return "x= is before t=";
  return "";
}

}  // namespace

ParsedSignature parse_signature(std::string_view value) {
  ParsedSignature p;
  auto tags = parse_tag_list(value);
  if (!tags) {
    p.problem.reason = tags.error().reason;
    return p;
  }
  if (const Tag* d = find_tag(*tags, "d")) p.domain = ascii_lower(d->value);
  if (const Tag* s = find_tag(*tags, "s")) p.selector = ascii_lower(s->value);
  if (const Tag* a = find_tag(*tags, "a")) p.algorithm = ascii_lower(a->value);
  Signature s;
  s.algorithm_name = p.algorithm;
  if (p.algorithm == "rsa-sha256") {
    s.algorithm = Algorithm::rsa_sha256;
  } else if (p.algorithm == "ed25519-sha256") {
    s.algorithm = Algorithm::ed25519_sha256;
  } else if (p.algorithm == "rsa-sha1") {
    p.problem = {true, "rsa-sha1 is not accepted (RFC 8301)"};
    return p;
  } else if (find_tag(*tags, "a")) {
    p.problem.reason = "unknown algorithm a=" + p.algorithm;
    return p;
  }
  std::string why = check_tags(*tags, s);
  if (!why.empty()) {
    p.problem.reason = why;
    return p;
  }
  p.domain = s.domain;
  p.selector = s.selector;
  p.sig = std::move(s);
  return p;
}

Result<KeyRecord> parse_key_record(std::string_view text) {
  auto tags = parse_tag_list(text);
  if (!tags) return tags.error();
  auto bad = [](std::string why) { return Error{ErrorKind::format, "key record: " + why}; };
  KeyRecord k;
  if (const Tag* v = find_tag(*tags, "v")) {
    if (&tags->front() != v || v->value != "DKIM1") return bad("v= is not DKIM1 or not first");
  }
  if (const Tag* h = find_tag(*tags, "h")) {
    bool sha256 = false;
    for (auto& a : colon_list(h->value)) sha256 = sha256 || ascii_lower(a) == "sha256";
    if (!sha256) return bad("h= does not allow sha256");
  }
  if (const Tag* kt = find_tag(*tags, "k")) {
    std::string t = ascii_lower(kt->value);
    if (t == "ed25519") k.key_type = Algorithm::ed25519_sha256;
    else if (t != "rsa") return bad("unknown key type k=" + t);
  }
  if (const Tag* s = find_tag(*tags, "s")) {
    bool email = false;
    for (auto& st : colon_list(s->value)) email = email || st == "*" || ascii_lower(st) == "email";
    if (!email) return bad("s= does not allow email");
  }
  if (const Tag* t = find_tag(*tags, "t")) {
    for (auto& f : colon_list(t->value)) {
      k.testing = k.testing || f == "y";
      k.strict = k.strict || f == "s";
    }
  }
  const Tag* p = find_tag(*tags, "p");
  if (!p) return bad("no p=");
  if (strip_fws(p->value).empty()) {
    k.revoked = true;
    return k;
  }
  auto key = base64(p->value);
  if (!key) return bad("p= is not base64");
  k.public_key = std::move(*key);
  return k;
}

}  // namespace quail::dkim
