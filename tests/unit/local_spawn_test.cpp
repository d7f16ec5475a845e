// Unit tests for local-spawn's delivery terms (bin-src/local-spawn/delivery_terms):
// what a delivery child's ending is reported as, and the environment it gets.
#include <doctest/doctest.h>

#include <csignal>
#include <string>
#include <sys/wait.h>
#include <vector>

// local-spawn's own file (not in lib/: only local-spawn uses it), compiled into the tests.
#include "../../bin-src/local-spawn/delivery_terms.cpp"

using quail::delivery_environment;
using quail::reply_for;

TEST_CASE("local-spawn: a child's exit code 0, 99, 100 or 111 is passed on with its first line") {
  struct Case {
    int code;
    std::string output, reason;
  } cases[] = {
      {0, "delivered to Maildir (#2.0.0)\n", "delivered to Maildir (#2.0.0)"},
      {99, "delivered (#2.0.0)\n", "delivered (#2.0.0)"},
      {100, "no mailbox here by that name (#5.1.1)\nsecond line\n", "no mailbox here by that name (#5.1.1)"},
      {111, "unable to write: disk full (#4.3.0)\r\n", "unable to write: disk full (#4.3.0)"},
      {111, "", ""},  // no reason: queue-send says so itself
  };
  for (const auto& c : cases) {
    auto r = reply_for(7, W_EXITCODE(c.code, 0), c.output);
    CHECK(r.dlv == 7);
    CHECK(r.code == c.code);
    CHECK(r.reason == c.reason);
  }
}

TEST_CASE("local-spawn: a signal or an unexpected exit code is temporary, never permanent") {
  auto crashed = reply_for(3, W_EXITCODE(0, SIGSEGV), "no mailbox here by that name (#5.1.1)\n");
  CHECK(crashed.code == 111);
  CHECK(crashed.reason == "local-deliver was killed by signal 11 (#4.3.0)");
  for (int code : {1, 2, 64, 101, 112, 255}) {
    auto r = reply_for(4, W_EXITCODE(code, 0), "permanent-looking text (#5.1.1)\n");
    CHECK(r.code == 111);
    CHECK(r.reason == "local-deliver exited " + std::to_string(code) + " (#4.3.0)");
  }
}

TEST_CASE("local-spawn: a delivery's environment is QUAIL_ROOT and PATH") {
  using V = std::vector<std::string>;
  // Switching users: the fixed PATH; nothing of the caller's.
  CHECK(delivery_environment("/var/quail", true, "/home/u/bin:/usr/bin", "/usr/local/bin/filter") ==
        V{"QUAIL_ROOT=/var/quail", "PATH=/usr/local/bin:/usr/bin:/bin"});
  // Running as itself: the invoking user's PATH and queue filter are kept.
  CHECK(delivery_environment("/r", false, "/home/u/bin:/usr/bin", "/usr/local/bin/filter") ==
        V{"QUAIL_ROOT=/r", "PATH=/home/u/bin:/usr/bin", "QUEUE_PROGRAM=/usr/local/bin/filter"});
  CHECK(delivery_environment("/r", false, nullptr, "") == V{"QUAIL_ROOT=/r", "PATH=/usr/local/bin:/usr/bin:/bin"});
}

#include "group_file.hpp"

TEST_CASE("local-spawn: supplementary groups come from the group file's member lists") {
  using quail::groups_in;
  using G = std::vector<gid_t>;
  const std::string file =
      "root:x:0:\n"
      "mail:x:8:alice\n"
      "quail:x:998:quail-smtpd,quail-mail,alice\n"
      "dup:x:998:alice\n"            // a gid already had
      "# staff:x:50:alice\n"         // a comment
      "+nisgroup:x:60:alice\n"       // NIS compat: not consulted
      "bad:x:notanumber:alice\n"     // malformed: grants nothing
      "short:x:70\n"                 // three fields
      "alicia:x:80:alicia,xalice\n"  // names are whole words
      "tail:x:90:bob,alice";         // no final newline
  CHECK(groups_in(file, "alice", 1000) == G{1000, 8, 998, 90});
  CHECK(groups_in(file, "quail-mail", 997) == G{997, 998});
  CHECK(groups_in(file, "nobody", 65534) == G{65534});
  CHECK(groups_in(file, "", 5) == G{5});
  CHECK(groups_in("mail:x:8:alice\r\n", "alice", 1) == G{1});  // a CR is a malformed line
}
