// Unit tests for lib/dotqmail: qmail's dot-qmail(5) line types as parse_dotqmail reads them.
#include <doctest/doctest.h>

#include <string>

#include "dotqmail.hpp"

using quail::DotQmailKind;
using quail::parse_dotqmail;
using quail::parse_dotqmail_line;

TEST_CASE("dotqmail: each line type is recognised") {
  struct Case {
    const char* line;
    DotQmailKind kind;
    const char* value;
  } cases[] = {
      {"|/usr/bin/ezmlm-reject '<DIR>'", DotQmailKind::program, "/usr/bin/ezmlm-reject '<DIR>'"},
      {"./Maildir/", DotQmailKind::maildir, "./Maildir/"},
      {"/var/mail/alice/", DotQmailKind::maildir, "/var/mail/alice/"},
      {"./mbox", DotQmailKind::mbox, "./mbox"},
      {"/home/alice/Mailbox", DotQmailKind::mbox, "/home/alice/Mailbox"},
      {".inbox", DotQmailKind::mbox, ".inbox"},
      {"&bob@example.test", DotQmailKind::forward, "bob@example.test"},
      {"bob@example.test", DotQmailKind::forward, "bob@example.test"},
      {"7bob@example.test", DotQmailKind::forward, "7bob@example.test"},
      {"&bob", DotQmailKind::forward, "bob"},
      {"./Maildir/ \t ", DotQmailKind::maildir, "./Maildir/"},
      {"|cat\r", DotQmailKind::program, "cat"},
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.line));
    auto r = parse_dotqmail_line(c.line);
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    CHECK((*r)->kind == c.kind);
    CHECK((*r)->value == c.value);
  }
}

TEST_CASE("dotqmail: comments and blank lines carry no instruction") {
  for (const char* line : {"", "   ", "# a comment", "#|rm -rf /", "\t"}) {
    CAPTURE(std::string(line));
    auto r = parse_dotqmail_line(line);
    REQUIRE(r.ok());
    CHECK(!r->has_value());
  }
}

TEST_CASE("dotqmail: malformed lines are refused") {
  for (const char* line : {"|", "|   ", "&", "&not an address", "-bob@example.test", "<bob@example.test>",
                           "bob@@example.test", "\x01oops", "./mail\x02" "box"}) {
    CAPTURE(std::string(line));
    auto r = parse_dotqmail_line(line);
    CHECK(!r.ok());
  }
}

TEST_CASE("dotqmail: a file keeps its order and names the line of an error") {
  auto r = parse_dotqmail("# deliveries\n./Maildir/\n\n|notify\n&bob@example.test\n./mbox", ".qmail-x");
  REQUIRE(r.ok());
  REQUIRE(r->size() == 4);
  CHECK((*r)[0].kind == DotQmailKind::maildir);
  CHECK((*r)[0].lineno == 2);
  CHECK((*r)[1].kind == DotQmailKind::program);
  CHECK((*r)[2].kind == DotQmailKind::forward);
  CHECK((*r)[3].kind == DotQmailKind::mbox);
  CHECK((*r)[3].lineno == 6);

  auto bad = parse_dotqmail("./Maildir/\n!oops\n", "/home/a/.qmail");
  REQUIRE(!bad.ok());
  CHECK(bad.error().reason.find("/home/a/.qmail:2:") == 0);
}

TEST_CASE("dotqmail: a file of comments only has no instructions") {
  auto r = parse_dotqmail("# nothing\n\n#more\n", ".qmail");
  REQUIRE(r.ok());
  CHECK(r->empty());
}

TEST_CASE("dotqmail: a NUL byte is refused") {
  auto r = parse_dotqmail(std::string("./Maildir/\n|cat\0x\n", 18), ".qmail");
  CHECK(!r.ok());
}
