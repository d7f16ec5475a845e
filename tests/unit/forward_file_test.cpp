// Unit tests for lib/forward_file: sendmail .forward item syntax.
#include <doctest/doctest.h>

#include "forward_file.hpp"

using quail::ForwardItem;
using quail::ForwardKind;
using quail::parse_forward_file;
using quail::parse_forward_item;

TEST_CASE("forward: items of every kind, comma and newline separated") {
  auto r = parse_forward_file(
      "# my forwards\n"
      "bob@example.test, carol@example.test\n"
      "\"|/usr/bin/procmail -f-\"\n"
      "/home/alice/mbox, /home/alice/Maildir/\n"
      "\\alice\n"
      "<dave@example.test>\n"
      "erin\n",
      ".forward");
  REQUIRE(r.ok());
  std::vector<ForwardItem> want = {
      {ForwardKind::address, "bob@example.test", 2},     {ForwardKind::address, "carol@example.test", 2},
      {ForwardKind::program, "/usr/bin/procmail -f-", 3}, {ForwardKind::mbox, "/home/alice/mbox", 4},
      {ForwardKind::maildir, "/home/alice/Maildir/", 4}, {ForwardKind::self, "alice", 5},
      {ForwardKind::address, "dave@example.test", 6},    {ForwardKind::address, "erin", 7},
  };
  CHECK(*r == want);
}

TEST_CASE("forward: an unquoted program runs to the end of the line, commas included") {
  auto r = parse_forward_file("bob@example.test, |/bin/notify --to a,b\n", ".forward");
  REQUIRE(r.ok());
  REQUIRE(r->size() == 2);
  CHECK((*r)[1].kind == ForwardKind::program);
  CHECK((*r)[1].value == "/bin/notify --to a,b");
}

TEST_CASE("forward: quoted items honour backslash escapes") {
  auto r = parse_forward_file("\"|echo \\\"hi\\\"\"\n", ".forward");
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  CHECK((*r)[0].value == "echo \"hi\"");
}

TEST_CASE("forward: malformed items are refused with file and line") {
  for (const char* text : {"\"|unterminated\n", ":include:/etc/list\n", "bob smith@example.test\n",
                           "\"bob@example.test\" junk\n", "\\\n", "\\bob@example.test\n", "|\n",
                           "bob@@example.test\n"}) {
    CAPTURE(std::string(text));
    auto r = parse_forward_file(std::string("alice@example.test\n") + text, "/h/.forward");
    REQUIRE(!r.ok());
    CHECK(r.error().reason.find("/h/.forward:2:") == 0);
  }
}

TEST_CASE("forward: :include: is refused with a clear reason") {
  auto r = parse_forward_item(":include:/etc/mail/staff");
  REQUIRE(!r.ok());
  CHECK(r.error().reason.find(":include: is not supported") != std::string::npos);
}

TEST_CASE("forward: an item reads back from its text") {
  for (const char* text : {"|/bin/prog arg", "/var/mail/x", "/m/Maildir/", "\\alice", "bob@example.test", "bob"}) {
    CAPTURE(std::string(text));
    auto r = parse_forward_item(text);
    REQUIRE(r.ok());
    CHECK(quail::forward_item_text(*r) == text);
  }
}

TEST_CASE("forward: an empty or comment-only file has no items") {
  for (const char* text : {"", "\n\n", "# nothing here\n"}) {
    auto r = parse_forward_file(text, ".forward");
    REQUIRE(r.ok());
    CHECK(r->empty());
  }
}
