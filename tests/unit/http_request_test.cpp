// Unit tests for lib/http_request: list-httpd's strict HTTP/1.1 head parser, the
// request-target's path, and the RFC 8058 one-click body.
#include <doctest/doctest.h>

#include <string>

#include "http_request.hpp"

namespace http = quail::http;

TEST_CASE("http: a POST head with Host and Content-Length parses; field names are lowercased") {
  std::string head = "POST /u/a%40b HTTP/1.1\r\nHost: lists.example.test\r\nContent-Type:  application/x-www-form-urlencoded \r\n"
                     "Content-Length: 26\r\n\r\n";
  REQUIRE(http::head_end(head + "List-Unsubscribe=One-Click") == head.size());
  auto p = http::parse_head(head);
  REQUIRE(p.status == 0);
  CHECK(p.request.method == "POST");
  CHECK(p.request.target == "/u/a%40b");
  CHECK(p.request.minor == 1);
  CHECK(p.request.content_length == 26);
  CHECK(p.request.field("content-type").value() == "application/x-www-form-urlencoded");
  CHECK_FALSE(p.request.field("cookie"));
}

TEST_CASE("http: the head ends only at CRLF CRLF") {
  CHECK(http::head_end("GET / HTTP/1.1\r\nHost: x\r\n") == std::string::npos);
  CHECK(http::head_end("GET / HTTP/1.1\nHost: x\n\n") == std::string::npos);
  CHECK(http::head_end("GET / HTTP/1.0\r\n\r\nrest") == 18);
}

TEST_CASE("http: malformed and smuggling-prone heads get their status") {
  struct Case {
    const char* head;
    int status;
  } cases[] = {
      {"GET / HTTP/1.1\r\n\r\n", 400},                                          // no Host in 1.1
      {"GET / HTTP/1.0\r\n\r\n", 0},                                            // 1.0 needs none
      {"get / HTTP/1.1\r\nHost: x\r\n\r\n", 400},                               // method is uppercase
      {"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400},                              // two spaces
      {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
      {"GET / HTTX/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},                              // space before the colon
      {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400},                    // obs-fold
      {"GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", 400},                         // bare LF
      {"GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", 400},                         // bare CR
      {"GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4097\r\n\r\n", 413},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n", 0},
      {"GET / HTTP/1.1\r\nHost: x\r\n", 400},                                   // no blank line
  };
  for (const auto& c : cases) {
    CAPTURE(c.head);
    CHECK(http::parse_head(c.head).status == c.status);
  }
}

TEST_CASE("http: the bounds on the target, the head and the number of fields hold") {
  CHECK(http::parse_head("GET /" + std::string(http::max_target, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n").status == 414);
  std::string many = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (size_t i = 0; i < http::max_fields; ++i) many += "X: y\r\n";
  CHECK(http::parse_head(many + "\r\n").status == 431);
  CHECK(http::parse_head("GET / HTTP/1.1\r\nHost: " + std::string(http::max_head, 'h') + "\r\n\r\n").status == 431);
}

TEST_CASE("http: the target's path is percent-decoded strictly and the query dropped") {
  CHECK(http::target_path("/u/a%40b.test?x=1").value() == "/u/a@b.test");
  CHECK(http::target_path("/A%2fb").value() == "/A/b");
  CHECK_FALSE(http::target_path("u/x"));
  CHECK_FALSE(http::target_path("http://host/x"));
  CHECK_FALSE(http::target_path("/x%4"));
  CHECK_FALSE(http::target_path("/x%"));
  CHECK_FALSE(http::target_path("/x%zz"));
  CHECK_FALSE(http::target_path("/x%00"));
  CHECK_FALSE(http::target_path("/x%0a"));
  CHECK_FALSE(http::target_path("/x#y"));
  CHECK(http::last_segment("/u/abc") == "abc");
  CHECK(http::last_segment("/") == "");
  CHECK(http::encode_segment("a-b.c_d~e@f=g+h/i?j#k%l m") == "a-b.c_d~e@f=g+h%2Fi%3Fj%23k%25l%20m");
  CHECK(http::target_path("/" + http::encode_segment("x/?#% \"y")).value() == "/x/?#% \"y");
}

TEST_CASE("http: the one-click body is List-Unsubscribe=One-Click, form-urlencoded or multipart") {
  const char* form = "application/x-www-form-urlencoded";
  CHECK(http::one_click_body(form, "List-Unsubscribe=One-Click"));
  CHECK(http::one_click_body("Application/X-WWW-Form-Urlencoded; charset=utf-8", "List-Unsubscribe=One-Click\r\n"));
  CHECK(http::one_click_body(form, "a=b&List-Unsubscribe=One-Click&c=d"));
  CHECK_FALSE(http::one_click_body(form, ""));
  CHECK_FALSE(http::one_click_body(form, "List-Unsubscribe=one-click"));
  CHECK_FALSE(http::one_click_body(form, "List-Unsubscribe=One-Clicks"));
  CHECK_FALSE(http::one_click_body("text/plain", "List-Unsubscribe=One-Click"));
  CHECK_FALSE(http::one_click_body("", "List-Unsubscribe=One-Click"));
  std::string multi = "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--XyZ--\r\n";
  CHECK(http::one_click_body("multipart/form-data; boundary=XyZ", multi));
  CHECK(http::one_click_body("multipart/form-data; boundary=\"XyZ\"", multi));
  CHECK_FALSE(http::one_click_body("multipart/form-data; boundary=Other", multi));
  CHECK_FALSE(http::one_click_body("multipart/form-data", multi));
  std::string other = "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nOne-Click\r\n--b--\r\n";
  CHECK_FALSE(http::one_click_body("multipart/form-data; boundary=b", other));
  std::string second = "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\ny\r\n"
                       "--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n";
  CHECK(http::one_click_body("multipart/form-data; boundary=b", second));
  CHECK_FALSE(http::one_click_body("multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click"));
}
