// The one HTTP/1.1 request list-httpd reads per connection (RFC 9112), parsed
// strictly and within fixed bounds, and the RFC 8058 one-click form body
// (RFC 7578 multipart/form-data or application/x-www-form-urlencoded). Trusts
// nothing: every byte comes from a stranger; every parser here is fuzzed.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace quail::http {

inline constexpr size_t max_head = 8192;    // request line and fields, blank line included (431 beyond)
inline constexpr size_t max_target = 2048;  // 414 beyond
inline constexpr size_t max_fields = 64;    // 431 beyond
inline constexpr size_t max_body = 4096;    // a one-click body is ~30 bytes, multipart ~200 (413 beyond)

struct Request {
  std::string method;  // "GET", "POST", ...: a token of uppercase letters
  std::string target;  // the request-target as sent (origin-form checked later)
  int minor = 1;       // HTTP/1.<minor>, 0 or 1
  std::vector<std::pair<std::string, std::string>> fields;  // names lowercased, values without OWS
  size_t content_length = 0;  // 0 when there is no Content-Length
  // The value of the one field called name (lowercase), nullopt when absent.
  std::optional<std::string_view> field(std::string_view name) const;
};

// A parse: status 0 and the request, or the HTTP status to answer (400, 413,
// 414, 431, 501, 505) and why, for the log.
struct Parsed {
  int status = 0;
  std::string reason;
  Request request;
};

// Where the head ends in buf: the offset just past the first CRLF CRLF, or npos
// when it has not arrived yet.
size_t head_end(std::string_view buf);

// Parses a head (request line, fields, the blank line: everything up to
// head_end). Bare CR or LF, obsolete line folding, whitespace before a colon,
// control characters, a Transfer-Encoding (501), a second Content-Length or Host,
// no Host in HTTP/1.1, and anything over the bounds above are refused.
Parsed parse_head(std::string_view head);

// The path of an origin-form target ("/a/b%40c?x" -> "/a/b@c"): the query is
// dropped; nullopt unless it starts with '/', every %XX is two hex digits and
// nothing decodes to a control character, or it holds a '#'.
std::optional<std::string> target_path(std::string_view target);

// The last segment of a decoded path ("/u/x" -> "x"; "/" -> "").
std::string_view last_segment(std::string_view path);

// Percent-encodes everything but RFC 3986 unreserved characters and "@=+",
// for a path segment.
std::string encode_segment(std::string_view text);

// True when body, of this Content-Type, carries the one-click key-value pair
// "List-Unsubscribe=One-Click" (RFC 8058 section 3.1): as a form-urlencoded
// pair, or as the multipart/form-data part named List-Unsubscribe.
bool one_click_body(std::string_view content_type, std::string_view body);

// The text of an HTTP status ("Not Found" for 404; "Error" for one we never send).
std::string_view status_text(int status);

}  // namespace quail::http
