// RESP (REdis Serialization Protocol, version 2): commands as arrays of bulk
// strings, and a strict parser of the replies the Redis store backend reads.
// Trusts nothing from the server: sizes and nesting are bounded.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace quail::resp {

enum class Type { simple, error, integer, bulk, nil, array };

struct Value {
  Type type = Type::nil;
  std::string text;  // simple, error, bulk
  int64_t integer = 0;
  std::vector<Value> elements;  // array
};

enum class Parse { ok, incomplete, malformed };

// Bounds on what a reply may hold.
inline constexpr size_t max_bulk = 1 << 20;
inline constexpr size_t max_elements = 100000;
inline constexpr int max_depth = 4;

// Parses one reply at the start of buf: ok (out and used set), incomplete (read
// more), or malformed (the connection cannot be trusted any more).
Parse parse(std::string_view buf, Value& out, size_t& used);

// One command: *N\r\n then each argument as $len\r\n<bytes>\r\n.
std::string command(const std::vector<std::string_view>& args);

}  // namespace quail::resp
