// Unit tests for lib/queue_command: the lines `quail queue` gives queue-send
// (queue-layout/README.md, "Queue tools").
#include <doctest/doctest.h>

#include <string>

#include "queue_command.hpp"

using quail::parse_queue_command;
using quail::QueueVerb;

TEST_CASE("queue command: each verb round-trips") {
  for (const char* line : {"retry all\n", "retry mip3q2d5k8ab457\n", "delete mip3q2d5k8ab457\n",
                           "delete mip3q2d5k8ab457 bounce\n", "delete @example.test\n", "delete @example.test bounce\n",
                           "hold mip3q2d5k8ab457\n", "release mip3q2d5k8ab457\n"}) {
    auto c = parse_queue_command(line);
    REQUIRE_MESSAGE(c, line);
    CHECK(quail::format_queue_command(*c) == line);
  }
  auto c = parse_queue_command("delete @Example.TEST bounce\n");
  REQUIRE(c);
  CHECK(c->verb == QueueVerb::del);
  CHECK(c->domain == "example.test");
  CHECK(c->bounce);
}

TEST_CASE("queue command: anything else is refused") {
  for (const char* line : {"", "\n", "retry all", "retry\n", "retry all bounce\n", "hold all\n", "release @x.test\n",
                           "retry @x.test\n", "delete 457\n", "delete mip3q2d5k8ab457 now\n", "delete  mip3q2d5k8ab457\n",
                           "delete mip3q2d5k8ab457 \n", "remove mip3q2d5k8ab457\n", "delete @\n", "delete @a b.test\n",
                           "delete @a\x01.test\n", "hold mip3q2d5k8ab457\nhold mip3q2d5k8ab458\n",
                           "delete mip3q2d5k8ab457 bounce extra\n"}) {
    CHECK_MESSAGE(!parse_queue_command(line), std::string(line));
  }
}
