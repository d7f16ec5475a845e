// SPF macro expansion (RFC 7208 7): %{s} %{l} %{o} %{d} %{i} %{p} %{h} %{v}, and
// %{c} %{r} %{t} in explanations, with the digit and "r" transformers and the
// delimiters. Trusts nothing: the macro-string comes from a published record
// (tests/fuzz/spf_macro_fuzz.cpp).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "spf_record.hpp"

namespace quail::spf {

struct MacroContext {
  std::string sender;         // s: local@domain ("postmaster@helo" for the null sender)
  std::string local_part;     // l
  std::string sender_domain;  // o
  std::string domain;         // d: the domain being evaluated
  IpAddress ip;               // i, c, v
  std::string helo;           // h
  std::string receiver;       // r: our own host name
  int64_t now = 0;            // t
  // p: the client's validated host name (RFC 7208 5.5's procedure), looked up only
  // when a record asks for it; "unknown" when there is none.
  std::function<std::string()> validated_name;
};

// Expands s; exp allows c, r and t (the explanation). nullopt when s is not a valid
// macro-string (a permerror), or when a digit transformer is 0.
std::optional<std::string> expand_macros(std::string_view s, const MacroContext& c, bool exp);

// A domain-spec's expansion made fit for a query: a trailing dot removed and, over
// 253 characters, labels dropped from the left until it fits (RFC 7208 7.3).
std::string fit_domain(std::string name);

}  // namespace quail::spf
