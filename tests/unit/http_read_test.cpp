// Unit tests for lib/http_read: one request read from a socket within its bounds
// and its deadline (list-httpd's 20 s; shortened here).
#include <doctest/doctest.h>

#include <string>
#include <sys/socket.h>
#include <unistd.h>

#include "http_read.hpp"

namespace {

// A connected pair: the test writes on client, read_request reads server.
struct Pair {
  int client = -1, server = -1;
  Pair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    client = fds[0];
    server = fds[1];
  }
  ~Pair() {
    if (client >= 0) ::close(client);
    ::close(server);
  }
  void send(const std::string& s) const { REQUIRE(::write(client, s.data(), s.size()) == static_cast<ssize_t>(s.size())); }
  void hang_up() {
    ::close(client);
    client = -1;
  }
  // What is still unread on the server's side.
  std::string left() {
    hang_up();
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(server, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    return out;
  }
};

}  // namespace

TEST_CASE("http read: a POST is read whole, exactly its Content-Length of body") {
  Pair p;
  p.send("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhel");
  p.send("loEXTRA");
  auto x = quail::http::read_request(p.server, 2000);
  REQUIRE(x.status == 0);
  CHECK(x.request.method == "POST");
  CHECK(x.body == "hello");
}

TEST_CASE("http read: a client that sends nothing, or stops in the body, gets 408 at the deadline") {
  {
    Pair p;
    CHECK(quail::http::read_request(p.server, 100).status == 408);
  }
  {
    Pair p;
    p.send("GET /x HTTP/1.1\r\nHost: h\r\n");
    CHECK(quail::http::read_request(p.server, 100).status == 408);
  }
  {
    Pair p;
    p.send("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc");
    CHECK(quail::http::read_request(p.server, 100).status == 408);
  }
}

TEST_CASE("http read: a client that leaves before the end is -1, nothing to answer") {
  Pair p;
  p.send("GET /x HTT");
  p.hang_up();
  CHECK(quail::http::read_request(p.server, 2000).status == -1);
}

TEST_CASE("http read: a POST without Content-Length is 411; a head without end stops at the bound") {
  {
    Pair p;
    p.send("POST /x HTTP/1.1\r\nHost: h\r\n\r\nList-Unsubscribe=One-Click");
    CHECK(quail::http::read_request(p.server, 2000).status == 411);
  }
  {
    Pair p;
    std::string endless = "GET /x HTTP/1.1\r\nHost: h\r\nX: " + std::string(3 * quail::http::max_head, 'a');
    p.send(endless);
    CHECK(quail::http::read_request(p.server, 2000).status == 431);
    // Not read beyond the head's bound (plus the four bytes of a blank line).
    CHECK(p.left().size() >= endless.size() - quail::http::max_head - 4);
  }
}
