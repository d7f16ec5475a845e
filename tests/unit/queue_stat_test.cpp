// Unit tests for lib/queue_stat: the stat/<id> journal of queue-layout/README.md
// (D, F, B, T records, birth check, torn and damaged journals) and the retry schedule.
#include <doctest/doctest.h>

#include <string>

#include "queue_file.hpp"
#include "queue_stat.hpp"

using quail::ErrorKind;
using quail::next_retry_ns;
using quail::parse_queue_stat;
using quail::QueueStat;
using quail::retry_unit_ns;
using quail::salvage_queue_stat;
using quail::StatOutcome;

namespace {
constexpr int64_t s = 1000000000;
const std::string head = "quail-stat 1 1700000000000000000\n";
}  // namespace

TEST_CASE("queue_stat: a journal with only its first line leaves every recipient pending") {
  auto r = parse_queue_stat(head, 3);
  REQUIRE(r.ok());
  CHECK(r->birth_ns == 1700000000000000000);
  REQUIRE(r->recipients.size() == 3);
  for (const auto& x : r->recipients) CHECK(x.outcome == StatOutcome::pending);
  CHECK_FALSE(r->torn_tail);
  CHECK(r->good_bytes == head.size());
}

TEST_CASE("queue_stat: D, F and B records give final outcomes, B covers only earlier F") {
  auto r = parse_queue_stat(head + "D 0\nF 1 no such user (#5.1.1)\nB\nF 2 mailbox full (#5.2.2)\n", 4);
  REQUIRE(r.ok());
  CHECK(r->recipients[0].outcome == StatOutcome::delivered);
  CHECK(r->recipients[1].outcome == StatOutcome::failed);
  CHECK(r->recipients[1].reason == "no such user (#5.1.1)");
  CHECK(r->recipients[1].bounced);
  CHECK(r->recipients[2].outcome == StatOutcome::failed);
  CHECK_FALSE(r->recipients[2].bounced);
  CHECK(r->recipients[3].outcome == StatOutcome::pending);
}

TEST_CASE("queue_stat: T records keep the last time and reason; a final outcome wins") {
  auto r = parse_queue_stat(head + "T 0 100 busy (#4.2.1)\nT 0 200 still busy (#4.2.1)\nT 1 150 x\nD 1\nT 1 300 y\n", 2);
  REQUIRE(r.ok());
  CHECK(r->recipients[0].outcome == StatOutcome::pending);
  CHECK(r->recipients[0].last_try == 200);
  CHECK(r->recipients[0].reason == "still busy (#4.2.1)");
  CHECK(r->recipients[1].outcome == StatOutcome::delivered);
}

TEST_CASE("queue_stat: malformed journals are refused with the line number") {
  const char* bad[] = {
      "",                                     // no first line
      "quail-stat 2 5\n",                     // another version
      "quail-stat 1 05\n",                    // leading zero
      "quail-stat 1 x\n",                     // not a number
  };
  for (const char* t : bad) {
    auto r = parse_queue_stat(t, 1);
    CHECK_FALSE(r.ok());
    if (!r.ok()) CHECK(r.error().kind == ErrorKind::format);
  }
  const char* bad_records[] = {
      "D 2\n",          // recipient out of range
      "D 01\n",         // leading zero
      "D -1\n",         // not a number
      "D 0 extra\n",    // trailing field
      "X 0\n",          // unknown type
      "\n",             // empty record
      "B x\n",          // B takes nothing
      "F 0\n",          // F without a reason
      "T 0 abc r\n",    // T with a bad time
      "T 0 5\n",        // T without a reason
      "D 0\nF 0 r\n",   // F after D
      "F 0 r\nD 0\n",   // D after F
      "F 0 a\tb\n",     // control byte in a reason
      "D  0\n",         // double space
  };
  for (const char* t : bad_records) {
    auto r = parse_queue_stat(head + t, 2);
    CHECK_MESSAGE(!r.ok(), t);
    if (!r.ok()) CHECK(r.error().reason.find("line ") != std::string::npos);
  }
}

TEST_CASE("queue_stat: numbers at and past INT64_MAX and UINT64_MAX are refused, never wrapped") {
  // Issue 16: "T 0 9700000100700000200 x" was accepted, wrapped negative in queue-send
  // and failed format -> parse. A T time is at most max_queue_time_s (2^33 s).
  CHECK(parse_queue_stat(head + "T 0 8589934592 x\n", 1)->recipients[0].last_try == quail::max_queue_time_s);
  CHECK(parse_queue_stat("quail-stat 1 8589934592000000000\n", 1)->birth_ns == quail::max_queue_time_ns);
  const char* huge[] = {"8589934593",          "9223372036854775807",  "9223372036854775808",
                        "18446744073709551615", "18446744073709551616", "9700000100700000200",
                        "123456789012345678901234"};
  for (const char* n : huge) {
    CAPTURE(std::string(n));
    CHECK_FALSE(parse_queue_stat(head + "T 0 " + n + " x\n", 1).ok());
    CHECK_FALSE(parse_queue_stat(head + "D " + n + "\n", 1).ok());
  }
  for (const char* birth : {"8589934592000000001", "9223372036854775807", "9223372036854775808",
                            "18446744073709551615", "18446744073709551616", "123456789012345678901234"}) {
    CAPTURE(std::string(birth));
    CHECK_FALSE(parse_queue_stat(std::string("quail-stat 1 ") + birth + "\n", 1).ok());
  }
  // Damage like any other: salvage keeps the records before it, so the recipient
  // keeps its earlier schedule (or, with none, is tried at once).
  auto r = salvage_queue_stat(head + "T 0 100 first\nT 0 9700000100700000200 x\nD 1\n", 2);
  REQUIRE(r.ok());
  CHECK(r->recipients[0].last_try == 100);
  CHECK(r->recipients[0].reason == "first");
  CHECK(r->recipients[1].outcome == StatOutcome::pending);
  CHECK(r->good_bytes == head.size() + 14);
  // A writer never writes what the parser would refuse.
  CHECK(quail::stat_temporary_record(0, INT64_MAX, "x") == "T 0 8589934592 x\n");
  CHECK(quail::stat_temporary_record(0, -5, "x") == "T 0 0 x\n");
}

TEST_CASE("queue_stat: a torn last record (no newline) is ignored, not an error") {
  std::string text = head + "D 0\nD 1";
  auto r = parse_queue_stat(text, 2);
  REQUIRE(r.ok());
  CHECK(r->torn_tail);
  CHECK(r->recipients[0].outcome == StatOutcome::delivered);
  CHECK(r->recipients[1].outcome == StatOutcome::pending);
  CHECK(r->good_bytes == head.size() + 4);
}

TEST_CASE("queue_stat: salvage keeps the records before the first bad line") {
  std::string text = head + "D 0\nGARBAGE\nD 1\n";
  CHECK_FALSE(parse_queue_stat(text, 2).ok());
  auto r = salvage_queue_stat(text, 2);
  REQUIRE(r.ok());
  CHECK(r->recipients[0].outcome == StatOutcome::delivered);
  CHECK(r->recipients[1].outcome == StatOutcome::pending);
  CHECK(r->good_bytes == head.size() + 4);
  CHECK_FALSE(salvage_queue_stat("nonsense\n", 2).ok());
}

TEST_CASE("queue_stat: format_queue_stat round-trips through the parser") {
  auto r = parse_queue_stat(head + "F 0 gone (#5.1.1)\nB\nD 1\nF 2 full (#5.2.2)\nT 3 99 later (#4.0.0)\n", 5);
  REQUIRE(r.ok());
  auto again = parse_queue_stat(quail::format_queue_stat(*r), 5);
  REQUIRE(again.ok());
  for (size_t n = 0; n < 5; ++n) {
    CHECK(again->recipients[n].outcome == r->recipients[n].outcome);
    CHECK(again->recipients[n].bounced == r->recipients[n].bounced);
    CHECK(again->recipients[n].reason == r->recipients[n].reason);
    CHECK(again->recipients[n].last_try == r->recipients[n].last_try);
  }
}

TEST_CASE("queue_stat: record writers make one clean line each") {
  CHECK(quail::stat_header_record(42) == "quail-stat 1 42\n");
  CHECK(quail::stat_delivered_record(3) == "D 3\n");
  CHECK(quail::stat_failed_record(1, "bad\nthing (#5.0.0)") == "F 1 bad thing (#5.0.0)\n");
  CHECK(quail::stat_bounced_record() == "B\n");
  CHECK(quail::stat_temporary_record(0, 77, "try\r\nlater") == "T 0 77 try  later\n");
  CHECK(quail::stat_clean_reason(std::string(5000, 'x')).size() == 1000);
  auto r = parse_queue_stat(head + quail::stat_failed_record(0, std::string(3000, 'y')), 1);
  CHECK(r.ok());
}

TEST_CASE("queue_stat: R and W records mark a success report and a delay notice as queued, and round-trip") {
  auto r = parse_queue_stat(head + "D 0\nR 0\nT 1 100 busy (#4.2.1)\nW 1\nT 1 200 still busy (#4.2.1)\n", 3);
  REQUIRE(r.ok());
  CHECK(r->recipients[0].outcome == StatOutcome::delivered);
  CHECK(r->recipients[0].reported);
  CHECK_FALSE(r->recipients[0].warned);
  CHECK(r->recipients[1].warned);
  CHECK(r->recipients[1].last_try == 200);
  CHECK_FALSE(r->recipients[2].reported);
  CHECK_FALSE(r->recipients[2].warned);
  auto again = parse_queue_stat(quail::format_queue_stat(*r), 3);
  REQUIRE(again.ok());
  for (size_t n = 0; n < 3; ++n) {
    CHECK(again->recipients[n].reported == r->recipients[n].reported);
    CHECK(again->recipients[n].warned == r->recipients[n].warned);
  }
  CHECK(quail::stat_reported_record(4) == "R 4\n");
  CHECK(quail::stat_warned_record(0) == "W 0\n");
  for (const char* bad : {"R\n", "R 5\n", "W x\n", "W 01\n", "R 0 x\n", "W  0\n"}) {
    CAPTURE(bad);
    auto e = parse_queue_stat(head + bad, 3);
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().reason.find("line 2") != std::string::npos);
  }
}

TEST_CASE("retry: attempt n is due at birth + 60 s * n^2") {
  const int64_t birth = 1000 * s;
  CHECK(next_retry_ns(birth, birth, 1) == birth + 60 * s);
  CHECK(next_retry_ns(birth, birth + 59 * s, 1) == birth + 60 * s);
  CHECK(next_retry_ns(birth, birth + 60 * s, 1) == birth + 240 * s);  // strictly later than now
  CHECK(next_retry_ns(birth, birth + 61 * s, 1) == birth + 240 * s);
  CHECK(next_retry_ns(birth, birth + 241 * s, 1) == birth + 540 * s);
  // A week into the queue, retries are about 2 * 100 minutes apart.
  int64_t week = 7 * 86400 * s;
  int64_t next = next_retry_ns(birth, birth + week, 1);
  CHECK(next > birth + week);
  CHECK(next - (birth + week) <= 2 * 101 * 60 * s);
  // A clock that went backwards still gives a time in the future of birth.
  CHECK(next_retry_ns(birth, birth - 5 * s, 1) == birth + retry_unit_ns);
}

TEST_CASE("retry: the schedule is the smallest square strictly after now, at every age") {
  const int64_t birth = 0;
  for (int64_t age = 0; age < 20000 * s; age += 997 * s / 10) {
    int64_t t = next_retry_ns(birth, birth + age, 1);
    int64_t n = 1;
    while (retry_unit_ns * n * n <= age) ++n;
    CHECK(t == retry_unit_ns * n * n);
  }
}

TEST_CASE("retry: the remote schedule is the same square law on its own unit") {
  const int64_t birth = 1000 * s, unit = 300 * s;
  CHECK(quail::next_retry_unit_ns(birth, birth, unit) == birth + 300 * s);
  CHECK(quail::next_retry_unit_ns(birth, birth + 300 * s, unit) == birth + 1200 * s);
  CHECK(quail::next_retry_unit_ns(birth, birth + 1201 * s, unit) == birth + 2700 * s);
  CHECK(quail::next_retry_unit_ns(birth, birth - 5 * s, unit) == birth + 300 * s);
  CHECK(quail::next_retry_unit_ns(birth, birth, 0) == birth + 1);  // a unit below 1 ns is 1 ns
  CHECK(quail::next_retry_unit_ns(birth, birth + 7 * 60 * s, retry_unit_ns) == next_retry_ns(birth, birth + 7 * 60 * s));
}

TEST_CASE("retry: QUAIL_RETRY_SCALE divides the schedule") {
  const int64_t birth = 5 * s;
  CHECK(next_retry_ns(birth, birth, 60) == birth + 1 * s);
  CHECK(next_retry_ns(birth, birth + 1 * s, 60) == birth + 4 * s);
  CHECK(next_retry_ns(birth, birth + 4 * s, 60) == birth + 9 * s);
  CHECK(next_retry_ns(birth, birth, 0) == birth + retry_unit_ns);  // nonsense scale means 1
  CHECK(next_retry_ns(birth, birth + 10, int64_t(1) << 62) > birth + 10);
}
