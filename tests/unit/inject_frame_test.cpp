// Unit tests for lib/inject_frame: queue-inject's session framing is strict
// (every malformed header is refused), does not depend on how reads split the
// input, and the answer line round-trips.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "inject_frame.hpp"

using namespace std::string_literals;
namespace frame = quail::frame;
using Kind = frame::Event::Kind;

namespace {

// What the parser made of the input fed in pieces of `step` octets: a readable
// trace ("d:<octets>", "e:<envelope>", "a", "!<reason>"), adjacent data merged.
struct Trace {
  std::vector<std::string> events;
  bool boundary = true;
};

Trace parse(const std::string& in, size_t step) {
  frame::Parser p;
  Trace t;
  for (size_t off = 0; off < in.size();) {
    std::string_view piece = std::string_view(in).substr(off, step);
    off += piece.size();
    while (!piece.empty()) {
      size_t used = 0;
      frame::Event ev;
      auto s = p.next(piece, used, ev);
      if (!s) {
        t.events.push_back("!" + s.error().reason);
        t.boundary = p.at_boundary();
        return t;
      }
      REQUIRE(used <= piece.size());
      REQUIRE((used > 0 || ev.kind != Kind::none));
      piece.remove_prefix(used);
      if (ev.kind == Kind::data) {
        if (!t.events.empty() && t.events.back().rfind("d:", 0) == 0) {
          t.events.back() += std::string(ev.bytes);
        } else {
          t.events.push_back("d:" + std::string(ev.bytes));
        }
      } else if (ev.kind == Kind::end) {
        t.events.push_back("e:" + std::string(ev.bytes));
      } else if (ev.kind == Kind::aborted) {
        t.events.push_back("a");
      }
    }
  }
  t.boundary = p.at_boundary();
  return t;
}

}  // namespace

TEST_CASE("inject frame: messages, aborts and envelopes, whatever the read sizes") {
  const std::string in = "D5\nhelloD3\n wo" "E4\nFx\0\0" "A\n" "D2\nabA\n" "E2\nF\0"s;
  for (size_t step : {1, 2, 3, 7, 64}) {
    CAPTURE(step);
    Trace t = parse(in, step);
    CHECK(t.events == std::vector<std::string>{"d:hello wo", "e:Fx\0\0"s, "a", "d:ab", "a", "e:F\0"s});
    CHECK(t.boundary);
  }
}

TEST_CASE("inject frame: the boundary is only between messages") {
  CHECK(parse("", 1).boundary);
  CHECK_FALSE(parse("D", 1).boundary);
  CHECK_FALSE(parse("D3\n", 1).boundary);
  CHECK_FALSE(parse("D3\nabc", 1).boundary);  // a message needs its E or A
  CHECK_FALSE(parse("E3\nab", 1).boundary);
  CHECK(parse("D3\nabcA\n", 1).boundary);
}

TEST_CASE("inject frame: malformed headers end the session") {
  const std::vector<std::string> bad = {
      "X\n",        "\n",          "D\n",         "D0\n",        "D05\n",        "D-5\n",      "D+5\n",
      "D 5\n",      "D5 \n",       "D5\r\n",      "d5\n",        "DA\n",         "E0\n",        "A5\n",
      "A \n",       "D1048577\n",  "E16777217\n", "D123456789\n", "E99999999\n", "D1x\n",      "Dabcdefghij",
      "AA\n",       "D0x10\n",
  };
  for (const auto& b : bad) {
    CAPTURE(b);
    for (size_t step : {1, 64}) {
      Trace t = parse(b, step);
      REQUIRE_FALSE(t.events.empty());
      CHECK(t.events.back().rfind("!", 0) == 0);
    }
  }
  // The limits themselves are allowed.
  CHECK(parse("D1048576\n", 64).events.empty());
  CHECK(parse("E16777216\n", 64).events.empty());
}

TEST_CASE("inject frame: after an error every call fails") {
  frame::Parser p;
  size_t used = 0;
  frame::Event ev;
  CHECK_FALSE(p.next("Q\n", used, ev));
  CHECK_FALSE(p.next("D1\nx", used, ev));
  CHECK(ev.kind == Kind::none);
}

TEST_CASE("inject frame: headers the client writes parse back") {
  CHECK(frame::data_header(1) == "D1\n");
  CHECK(frame::end_header(16 << 20) == "E16777216\n");
  CHECK(frame::end_header(16 << 20).size() == frame::max_header);
  std::string in = frame::data_header(3) + "abc" + frame::end_header(2) + "F\0"s + std::string(frame::abort_frame);
  CHECK(parse(in, 5).events == std::vector<std::string>{"d:abc", "e:F\0"s, "a"});
}

TEST_CASE("inject frame: answer lines") {
  CHECK(frame::format_answer(0, "K1234") == "0 K1234\n");
  CHECK(frame::format_answer(53, "disk\nfull\x01") == "53 disk?full?\n");
  CHECK(frame::format_answer(91, std::string(1000, 'x')).size() == frame::max_answer);
  auto a = frame::parse_answer("0 K1234");
  REQUIRE(a);
  CHECK(a->code == 0);
  CHECK(a->text == "K1234");
  a = frame::parse_answer("255 ");
  REQUIRE(a);
  CHECK(a->code == 255);
  CHECK(a->text.empty());
  for (const char* bad : {"", "0", " 0 K", "00 K", "256 x", "1000 x", "-1 x", "5x y", "0 K\x01", "0 \xff"}) {
    CAPTURE(bad);
    CHECK_FALSE(frame::parse_answer(bad));
  }
  std::string line = frame::format_answer(66, "unable to fsync todo/: I/O error");
  auto round = frame::parse_answer(std::string_view(line).substr(0, line.size() - 1));
  REQUIRE(round);
  CHECK(round->code == 66);
  CHECK(round->text == "unable to fsync todo/: I/O error");
}

TEST_CASE("inject frame: lengths and codes at and past INT64_MAX and UINT64_MAX are refused") {
  for (const char* n : {"9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
                        "123456789012345678901234"}) {
    for (char type : {'D', 'E'}) {
      std::string h = std::string(1, type) + n + "\n";
      CAPTURE(h);
      Trace t = parse(h, 64);
      REQUIRE_FALSE(t.events.empty());
      CHECK(t.events.back().rfind("!", 0) == 0);
    }
    CHECK_FALSE(frame::parse_answer(std::string(n) + " x"));
  }
  // 4294967296 + 53 would be 53 in a 32-bit int that wraps.
  CHECK_FALSE(frame::parse_answer("4294967349 x"));
}
