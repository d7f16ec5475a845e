// Reading the one HTTP/1.1 request of a connection (list-httpd) from a
// descriptor: never more than the head's bound plus the declared body, and all
// of it within one deadline, so a slow or endless client costs a bounded wait.
#pragma once
#include <string>

#include "http_request.hpp"

namespace quail::http {

// A request read from fd: status 0 and the parsed head and its body, or the
// HTTP status to answer (408 timeout, 411 POST without Content-Length, or
// parse_head's), or -1 when the client closed before sending a whole request.
struct Exchange {
  int status = 0;
  std::string reason;
  Request request;
  std::string body;
};
Exchange read_request(int fd, int timeout_ms);

}  // namespace quail::http
