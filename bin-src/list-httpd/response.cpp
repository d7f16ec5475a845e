// Framing list-httpd's answer: see httpd.hpp.
#include "httpd.hpp"

namespace quail::httpd {

std::string response(int status, std::string_view page, bool head_only, std::string_view extra) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(http::status_text(status)) + "\r\n" +
                    "Content-Type: text/html; charset=utf-8\r\n" + "Content-Length: " + std::to_string(page.size()) +
                    "\r\n" + "Connection: close\r\n" + "Cache-Control: no-store\r\n" +
                    "X-Content-Type-Options: nosniff\r\n" +
                    "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; form-action 'self'\r\n" +
                    "Referrer-Policy: no-referrer\r\n" + std::string(extra) + "\r\n";
  if (!head_only) out += page;
  return out;
}

}  // namespace quail::httpd
