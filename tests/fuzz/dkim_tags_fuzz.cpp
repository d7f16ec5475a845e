// Fuzzes lib/dkim_tags and lib/dkim_canon: the tag-list parser, DKIM-Signature
// values and key records (which come from any sender and any DNS server), and the
// canonicalizations of what follows them. Checks the invariants verification
// relies on: tag values sit where the parser says (b= is emptied in place), names
// are unique, a parsed signature is complete, canonical bodies are fixed points.
#include <cstdint>
#include <string>
#include <string_view>

#include "dkim_canon.hpp"
#include "dkim_tags.hpp"

using namespace quail::dkim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto tags = parse_tag_list(in)) {
    if (tags->empty()) __builtin_trap();
    for (size_t i = 0; i < tags->size(); ++i) {
      const Tag& t = (*tags)[i];
      if (t.value_begin > t.value_end || t.value_end > in.size()) __builtin_trap();
      if (in.substr(t.value_begin, t.value_end - t.value_begin) != t.value) __builtin_trap();
      if (t.value.find(';') != std::string::npos || t.name.empty()) __builtin_trap();
      for (size_t k = 0; k < i; ++k) {
        if ((*tags)[k].name == t.name) __builtin_trap();
      }
    }
  }
  ParsedSignature p = parse_signature(in);
  if (p.sig) {
    const Signature& s = *p.sig;
    if (s.domain.empty() || s.selector.empty() || s.b.empty() || s.bh.size() != 32) __builtin_trap();
    if (s.b_begin > s.b_end || s.b_end > in.size()) __builtin_trap();
    bool from = false;
    for (const auto& h : s.headers) from = from || h == "from";
    if (!from) __builtin_trap();
  } else if (p.problem.reason.empty()) {
    __builtin_trap();
  }
  if (auto k = parse_key_record(in)) {
    if (k->revoked != k->public_key.empty()) __builtin_trap();
  }
  for (Canon c : {Canon::simple, Canon::relaxed}) {
    std::string body = canon_body(in, c);
    if (canon_body(body, c) != body) __builtin_trap();
    if (!body.empty() && body.compare(body.size() - 2, 2, "\r\n") != 0) __builtin_trap();
  }
  std::string field = canon_header(in, Canon::relaxed);
  if (field.size() < 3 || field.compare(field.size() - 2, 2, "\r\n") != 0) __builtin_trap();
  return 0;
}
