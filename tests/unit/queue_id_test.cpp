// Unit tests for lib/queue_id: message ids unique for the installation's life
// (queue-layout/README.md, "Message ids").
#include <unistd.h>
#include <doctest/doctest.h>

#include <string>

#include "queue_file.hpp"
#include "queue_id.hpp"
#include "queue_pool.hpp"
#include "temp_queue.hpp"

TEST_CASE("message id: birth in 12 base-36 digits, then the inode; parses back") {
  const int64_t birth = 1764770000123456789;  // 2025-12-03
  std::string id = quail::message_id(457, birth);
  CHECK(id.size() == 15);
  CHECK(id.substr(12) == "457");
  for (char c : id) CHECK(((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')));
  auto p = quail::parse_message_id(id);
  REQUIRE(p);
  CHECK(p->inode == 457);
  CHECK(p->birth_ns == birth);
  // Typed in capitals (a case-insensitive terminal habit), it is the same message.
  std::string upper = id;
  for (char& c : upper) c = static_cast<char>(c >= 'a' ? c - 32 : c);
  REQUIRE(quail::parse_message_id(upper));
  CHECK(quail::parse_message_id(upper)->birth_ns == birth);
}

TEST_CASE("message id: one inode with two births gives two ids, and ids sort by birth") {
  CHECK(quail::message_id(457, 1764770000000000000) != quail::message_id(457, 1764770000000000001));
  CHECK(quail::message_id(99999, 1764770000000000000) < quail::message_id(1, 1764770000000000001));
  CHECK(quail::message_id(1, 0) == "0000000000001");
}

TEST_CASE("message id: what message_id cannot have made is refused") {
  for (const char* bad : {"", "457", "0000000000000", "00000000000a0", "mip3q2d5k8ab", "mip3q2d5k8ab-1",
                          "mip3q2d5k8ab01", "mip3q2d5k8ab4.5", "mip3q2d5k8a!457", "mip3q2d5k8ab123456789012345678901"}) {
    CHECK_MESSAGE(!quail::parse_message_id(bad), bad);
  }
}

TEST_CASE("message id: a pooled file's next message gets a new id, the same file name") {
  TempQueue q("quail-ut-qid");
  auto first = quail::QueueWriter::create(q.dirs);
  REQUIRE(first.ok());
  REQUIRE(first->append("Subject: one\n\n").ok());
  REQUIRE(first->commit(quail::Envelope{"a@example.test", {quail::Recipient{"b@example.test", "", ""}}}).ok());
  const std::string name = first->name(), id = first->id();
  // queue-send's take (the todo/ name goes) and S5: the spent file is parked in pool/.
  REQUIRE(::unlink((q.dirs.todo() + "/" + name).c_str()) == 0);
  quail::PoolKeeper keeper(q.dirs.pool());
  REQUIRE(keeper.park(q.dirs.mess() + "/" + name, name));
  auto second = quail::QueueWriter::create(q.dirs);
  REQUIRE(second.ok());
  CHECK(second->name() == name);
  CHECK(second->id() != id);
  auto p = quail::parse_message_id(second->id());
  REQUIRE(p);
  CHECK(std::to_string(p->inode) == name);
}
