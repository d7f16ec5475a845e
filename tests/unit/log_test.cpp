// Unit tests for lib/log: logfmt quoting (spaces, quotes, =, non-printables as
// \xNN), the cap on long values, and one line per event.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <string>
#include <unistd.h>

#include "log.hpp"

using quail::log_quote;

TEST_CASE("log: plain values are written as they are") {
  CHECK(log_quote("plain") == "plain");
  CHECK(log_quote("<bob@example.test>") == "<bob@example.test>");
  CHECK(log_quote("4.3.0") == "4.3.0");
  CHECK(log_quote("a,b;c:d/e") == "a,b;c:d/e");
}

TEST_CASE("log: values with spaces, quotes, = or backslashes are quoted and escaped") {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"", "\"\""},
      {"a b", "\"a b\""},
      {"a=b", "\"a=b\""},
      {"say \"hi\"", "\"say \\\"hi\\\"\""},
      {"a\"b", "\"a\\\"b\""},
      {"back\\slash", "\"back\\\\slash\""},
      {"unable to open x: No such file", "\"unable to open x: No such file\""},
  };
  for (const auto& c : cases) {
    std::string in(c.in);
    CAPTURE(in);
    CHECK(log_quote(in) == c.out);
  }
}

TEST_CASE("log: non-printable bytes become \\xNN so a value cannot forge a line") {
  CHECK(log_quote("a\nprog=evil") == "\"a\\x0aprog=evil\"");
  CHECK(log_quote("cr\r") == "\"cr\\x0d\"");
  CHECK(log_quote("tab\t") == "\"tab\\x09\"");
  CHECK(log_quote(std::string("nul\0", 4)) == "\"nul\\x00\"");
  CHECK(log_quote("\x7f") == "\"\\x7f\"");
  CHECK(log_quote("jos\xc3\xa9") == "\"jos\\xc3\\xa9\"");
  CHECK(log_quote("\x1b[31m") == "\"\\x1b[31m\"");
}

TEST_CASE("log: long values are capped at 400 bytes and marked") {
  std::string v400(400, 'v');
  CHECK(log_quote(v400) == v400);
  std::string v5000(5000, 'v');
  CHECK(log_quote(v5000) == "\"" + v400 + "...\"");
  // The cap counts input bytes; escapes may make the output longer but bounded.
  std::string ctl(5000, '\n');
  CHECK(log_quote(ctl).size() == 400 * 4 + 3 + 2);
}

TEST_CASE("log: an event is one line: prog, level, then the fields in order") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  quail::log_set_program("unit-test");
  quail::log_set_fd(p[1]);
  quail::log_info({{"event", "queued"}, {"msg", 12345}, {"to", "<a b@c>"}});
  quail::log_warn({{"event", "x"}, {"reason", "line\nbreak"}});
  quail::log_error({{"event", "y"}});
  quail::log_set_fd(2);
  quail::log_set_program("quail");
  ::close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  CHECK(out ==
        "prog=unit-test level=info event=queued msg=12345 to=\"<a b@c>\"\n"
        "prog=unit-test level=warn event=x reason=\"line\\x0abreak\"\n"
        "prog=unit-test level=error event=y\n");
}
