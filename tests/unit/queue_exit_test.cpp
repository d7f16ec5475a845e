// Unit tests for lib/queue_exit: qmail-queue(8)'s codes, 11-40 permanent and every
// other code temporary (unknown ones and signals included), notqmail's 82.
#include <doctest/doctest.h>

#include <string>

#include "queue_exit.hpp"

using quail::qq::describe;

namespace {

// Every text ends in an RFC 3463 code, "(#5.x.y)" or "(#4.x.y)".
bool ends_in_status(const std::string& t, char cls) {
  if (t.size() < 9 || t.back() != ')') return false;
  size_t open = t.rfind("(#");
  if (open == std::string::npos) return false;
  std::string code = t.substr(open + 2, t.size() - open - 3);
  return code.size() >= 5 && code[0] == cls && code[1] == '.';
}

}  // namespace

TEST_CASE("queue exit: the codes are qmail-queue(8)'s numbers") {
  namespace qq = quail::qq;
  CHECK(qq::ok == 0);
  CHECK(qq::address_too_long == 11);
  CHECK(qq::refused == 31);
  CHECK(qq::no_memory == 51);
  CHECK(qq::timeout == 52);
  CHECK(qq::write_error == 53);
  CHECK(qq::read_error == 54);
  CHECK(qq::config_error == 55);
  CHECK(qq::network == 56);
  CHECK(qq::root_home == 61);
  CHECK(qq::queue_dir == 62);
  CHECK(qq::queue_pid == 63);
  CHECK(qq::queue_mess == 64);
  CHECK(qq::queue_intd == 65);
  CHECK(qq::queue_todo == 66);
  CHECK(qq::temp_refused == 71);
  CHECK(qq::conn_timeout == 72);
  CHECK(qq::conn_rejected == 73);
  CHECK(qq::conn_failed == 74);
  CHECK(qq::internal_bug == 81);
  CHECK(qq::custom_error == 82);
  CHECK(qq::envelope_format == 91);
}

TEST_CASE("queue exit: 11 to 40 are permanent, with a 5.x.y code") {
  for (int code = 11; code <= 40; ++code) {
    CAPTURE(code);
    auto o = describe(code);
    CHECK(o.permanent);
    CHECK(ends_in_status(o.text, '5'));
  }
  CHECK(describe(11).text.find("too long") != std::string::npos);
}

TEST_CASE("queue exit: the listed temporary codes are temporary, with a 4.x.y code") {
  for (int code : {51, 52, 53, 54, 55, 56, 61, 62, 63, 64, 65, 66, 71, 72, 73, 74, 81, 91}) {
    CAPTURE(code);
    auto o = describe(code);
    CHECK_FALSE(o.permanent);
    CHECK(ends_in_status(o.text, '4'));
  }
}

TEST_CASE("queue exit: unknown codes are temporary: we never bounce for our own trouble") {
  for (int code : {1, 2, 3, 10, 41, 42, 50, 57, 60, 67, 70, 75, 80, 83, 90, 92, 99, 100, 111, 126, 127, 128, 255}) {
    CAPTURE(code);
    auto o = describe(code);
    CHECK_FALSE(o.permanent);
    CHECK(ends_in_status(o.text, '4'));
  }
  CHECK(describe(100).text.find("100") != std::string::npos);  // the code is named
}

TEST_CASE("queue exit: a queue program killed by a signal is temporary, whatever the number") {
  for (int sig : {0, 6, 9, 11, 15, 31}) {
    CAPTURE(sig);
    auto o = describe(sig, true);
    CHECK_FALSE(o.permanent);
    CHECK(ends_in_status(o.text, '4'));
  }
}

TEST_CASE("queue exit: 0 is success") {
  auto o = describe(0);
  CHECK_FALSE(o.permanent);
}

TEST_CASE("queue exit: 82 takes its verdict and text from fd 6: D permanent, Z temporary") {
  auto d = describe(82, false, "Dvirus found in attachment (#5.7.1)");
  CHECK(d.permanent);
  CHECK(d.text == "virus found in attachment (#5.7.1)");
  auto z = describe(82, false, "Zscanner busy (#4.3.0)");
  CHECK_FALSE(z.permanent);
  CHECK(z.text == "scanner busy (#4.3.0)");
  for (const char* bad : {"", "D", "Z", "Xsomething", "dlowercase d", " Dspace first"}) {
    std::string text(bad);
    CAPTURE(text);
    auto o = describe(82, false, text);
    CHECK_FALSE(o.permanent);
    CHECK(ends_in_status(o.text, '4'));
  }
  CHECK_FALSE(describe(82, true, "Dcrashed after writing").permanent);  // a signal wins
}
