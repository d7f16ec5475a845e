// Unit tests for lib/session_guard: the busy timeout, the junk command cap and
// the session lifetime smtpd applies between commands.
#include <doctest/doctest.h>

#include "session_guard.hpp"

using namespace quail;

TEST_CASE("effective_timeout_ms: the busy timeout shortens, never lengthens") {
  CHECK(effective_timeout_ms(300000, 20000, false) == 300000);
  CHECK(effective_timeout_ms(300000, 20000, true) == 20000);
  CHECK(effective_timeout_ms(10000, 20000, true) == 10000);
}

TEST_CASE("junk: max_junk commands in a row pass, the next one does not") {
  SessionGuard g({300000, 3, 0}, 0);
  CHECK(g.junk());
  CHECK(g.junk());
  CHECK(g.junk());
  CHECK_FALSE(g.junk());
  CHECK_FALSE(g.junk());  // stays over, however many more come
}

TEST_CASE("junk: a message between starts the count again") {
  SessionGuard g({300000, 2, 0}, 0);
  CHECK(g.junk());
  CHECK(g.junk());
  g.progress();
  CHECK(g.junk());
  CHECK(g.junk());
  CHECK_FALSE(g.junk());
}

TEST_CASE("junk: 0 means no cap") {
  SessionGuard g({300000, 0, 0}, 0);
  for (int i = 0; i < 100000; ++i) REQUIRE(g.junk());
}

TEST_CASE("command_wait_ms: the timeout, cut to what is left of the lifetime") {
  SessionGuard g({300000, 100, 3600000}, 1000);
  CHECK(g.command_wait_ms(1000) == 300000);
  CHECK(g.command_wait_ms(1000 + 3600000 - 5000) == 5000);
  CHECK(g.command_wait_ms(1000 + 3600000) == 0);
  CHECK(g.command_wait_ms(1000 + 3700000) == 0);
  CHECK_FALSE(g.lifetime_over(1000 + 3599999));
  CHECK(g.lifetime_over(1000 + 3600000));
}

TEST_CASE("command_wait_ms: no lifetime, only the timeout") {
  SessionGuard g({20000, 100, 0}, 0);
  CHECK(g.command_wait_ms(1LL << 40) == 20000);
  CHECK_FALSE(g.lifetime_over(1LL << 40));
}
