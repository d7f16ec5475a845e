// Unit tests for lib/aliases: /etc/aliases syntax and the cdb value encoding.
#include <doctest/doctest.h>

#include "aliases.hpp"

using quail::ForwardKind;
using quail::parse_aliases;

TEST_CASE("aliases: entries, continuation lines and comments") {
  auto r = parse_aliases(
      "# system aliases\n"
      "Postmaster: root\n"
      "root: alice@example.test,\n"
      "  bob@example.test\n"
      "\t\"|/usr/bin/archive\"\n"
      "# a comment inside\n"
      "  /var/mail/root-copy\n"
      "\n"
      "staff@example.test: \\alice, carol\n",
      "control/aliases");
  REQUIRE(r.ok());
  REQUIRE(r->size() == 3);
  CHECK((*r)[0].name == "postmaster");
  CHECK((*r)[0].items.size() == 1);
  CHECK((*r)[1].name == "root");
  REQUIRE((*r)[1].items.size() == 4);
  CHECK((*r)[1].items[2].kind == ForwardKind::program);
  CHECK((*r)[1].items[2].value == "/usr/bin/archive");
  CHECK((*r)[1].items[3].kind == ForwardKind::mbox);
  CHECK((*r)[2].name == "staff@example.test");
  CHECK((*r)[2].items[0].kind == ForwardKind::self);
}

TEST_CASE("aliases: malformed files are refused naming file and line") {
  struct Case {
    const char* text;
    int line;
  } cases[] = {
      {"  bob@example.test\n", 1},                       // continuation with nothing before
      {"root alice\n", 1},                               // no colon
      {"root: alice\nroot: bob\n", 2},                   // duplicate
      {"root: alice\nROOT: bob\n", 2},                   // duplicate, case-insensitively
      {"ro ot: alice\n", 1},                             // space in the name
      {"root:\n", 1},                                    // no targets
      {"root: alice\nstaff: :include:/etc/staff\n", 2},  // :include: refused
      {"root: alice\n  \"|unterminated\n", 2},
      {": alice\n", 1},
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.text));
    auto r = parse_aliases(c.text, "aliases");
    REQUIRE(!r.ok());
    CHECK(r.error().reason.find("aliases:" + std::to_string(c.line) + ":") == 0);
  }
}

TEST_CASE("aliases: the cdb value round-trips through the item parser") {
  auto r = parse_aliases("list: a@example.test, \"|prog x, y\", /var/mail/l, \\bob\n", "aliases");
  REQUIRE(r.ok());
  std::string value = quail::encode_alias_value((*r)[0].items);
  auto texts = quail::split_alias_value(value);
  REQUIRE(texts.size() == 4);
  for (size_t i = 0; i < texts.size(); ++i) {
    auto item = quail::parse_forward_item(texts[i]);
    REQUIRE(item.ok());
    item->lineno = (*r)[0].items[i].lineno;
    CHECK(*item == (*r)[0].items[i]);
  }
}

TEST_CASE("aliases: an empty file has no aliases") {
  auto r = parse_aliases("", "aliases");
  REQUIRE(r.ok());
  CHECK(r->empty());
}
