// list-httpd's pieces: its exit codes and deadline, the framing of its answer
// and the pages it answers with (reading the request: lib/http_read). See man/list-httpd.8.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "http_read.hpp"
#include "http_request.hpp"

namespace quail::httpd {

inline constexpr int exit_ok = 0;           // a request answered (whatever its HTTP status), or the client went
inline constexpr int exit_temporary = 111;  // out of memory, internal error

// The whole request (head and body) must arrive within this time (slow clients
// hold a tcpserver slot no longer).
inline constexpr int request_timeout_ms = 20000;

using http::Exchange;
using http::read_request;

// A complete response: status line, the fields every answer has (Content-Type
// text/html, Content-Length, Connection: close, Cache-Control: no-store, a
// Content-Security-Policy that allows no script), extra fields ("Allow: ...\r\n"),
// then the page unless head_only.
std::string response(int status, std::string_view page, bool head_only, std::string_view extra = "");

// The pages (HTML, every value escaped). The confirmation page's form has no
// action: the browser posts it back to the URL it shows, as RFC 8058 asks.
std::string confirm_page(std::string_view list, std::string_view subscriber);
std::string done_page(std::string_view list, std::string_view subscriber);
std::string error_page(int status, std::string_view why);

}  // namespace quail::httpd
