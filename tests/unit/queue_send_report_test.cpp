// Unit tests for queue-send's reading of delivery reports (bin-src/queue-send/
// delivery.cpp): local-deliver's exit codes and remote-deliver's qmail-remote
// report, including the "DSN " mark of a peer that took the DSN parameters
// (the contract with remote-deliver in man/queue-send.8).
#include <doctest/doctest.h>

#include <string>

#include "../../bin-src/queue-send/delivery.cpp"

using quail::ExitStatus;
using quail::Verdict;

namespace {
ExitStatus exited(int code) {
  ExitStatus st;
  st.code = code;
  return st;
}
std::string report(std::initializer_list<std::string_view> items) {
  std::string out;
  for (auto i : items) {
    out += i;
    out += '\0';
  }
  return out;
}
}  // namespace

TEST_CASE("remote report: a final K starting with DSN marks the r recipients as reported by the peer") {
  auto rs = quail::remote_results(exited(0), report({"r", "h550 5.1.1 no such user", "r",
                                                     "KDSN mx.example.test [127.0.0.1] accepted the message: 250 ok"}),
                                  3);
  REQUIRE(rs.size() == 3);
  CHECK(rs[0].verdict == Verdict::delivered);
  CHECK(rs[0].peer_dsn);
  CHECK(rs[0].reason == "mx.example.test [127.0.0.1] accepted the message: 250 ok");
  CHECK(rs[1].verdict == Verdict::failed);
  CHECK_FALSE(rs[1].peer_dsn);
  CHECK(rs[2].peer_dsn);
}

TEST_CASE("remote report: a K without the DSN mark is a delivery to a peer without DSN (relayed)") {
  auto rs = quail::remote_results(exited(0), report({"r", "Kmx.example.test [127.0.0.1] accepted the message: 250 ok"}), 1);
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].verdict == Verdict::delivered);
  CHECK_FALSE(rs[0].peer_dsn);
  CHECK(rs[0].reason == "mx.example.test [127.0.0.1] accepted the message: 250 ok");
  // "DSN" needs its space, and only K carries the mark.
  CHECK_FALSE(quail::remote_results(exited(0), report({"r", "KDSNx ok"}), 1)[0].peer_dsn);
  auto z = quail::remote_results(exited(0), report({"r", "ZDSN try later"}), 1);
  CHECK(z[0].verdict == Verdict::deferred);
  CHECK_FALSE(z[0].peer_dsn);
  CHECK(z[0].reason.starts_with("DSN try later"));
}

TEST_CASE("remote report: a truncated report or a bad exit defers everyone, never a peer_dsn") {
  auto t = quail::remote_results(exited(0), report({"r"}), 1);
  CHECK(t[0].verdict == Verdict::deferred);
  auto e = quail::remote_results(exited(111), report({"r", "KDSN ok"}), 1);
  CHECK(e[0].verdict == Verdict::deferred);
  CHECK_FALSE(e[0].peer_dsn);
}

TEST_CASE("local report: 0 and 99 delivered, 100 failed with class 5, 111 and others deferred") {
  CHECK(quail::local_result(exited(0), "ok").verdict == Verdict::delivered);
  CHECK(quail::local_result(exited(99), "").verdict == Verdict::delivered);
  auto f = quail::local_result(exited(100), "no mailbox here by that name (#4.1.1)\n");
  CHECK(f.verdict == Verdict::failed);
  CHECK(f.reason == "no mailbox here by that name (#5.1.1)");
  CHECK(quail::local_result(exited(111), "busy").verdict == Verdict::deferred);
  CHECK(quail::local_result(exited(42), "?").verdict == Verdict::deferred);
}
