// Unit tests for lib/headers: header/body split, fields, unfolding, address lists.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "headers.hpp"

using quail::HeaderLine;
using quail::Mailbox;

TEST_CASE("headers: lines are classified as field, continuation, blank or other") {
  struct Case {
    const char* line;
    HeaderLine kind;
  } cases[] = {
      {"Subject: hi\n", HeaderLine::field},      {"X-Empty:\n", HeaderLine::field},
      {"Subject : obsolete\n", HeaderLine::field}, {"Subject:no space", HeaderLine::field},
      {" folded\n", HeaderLine::continuation},   {"\tfolded\r\n", HeaderLine::continuation},
      {"\n", HeaderLine::blank},                 {"\r\n", HeaderLine::blank},
      {"", HeaderLine::blank},                   {"From bob@example.test Mon\n", HeaderLine::other},
      {"no colon here\n", HeaderLine::other},    {":empty name\n", HeaderLine::other},
      {"Sub ject: x\n", HeaderLine::other},      {"\xc3\xa9t\xc3\xa9: x\n", HeaderLine::other},
  };
  for (const auto& c : cases) {
    CAPTURE(c.line);
    CHECK(quail::classify_header_line(c.line) == c.kind);
  }
}

TEST_CASE("headers: a blank line separates header and body") {
  std::string m = "A: 1\nB: 2\n folded\n\nbody\n";
  auto s = quail::split_message(m);
  CHECK(s.blank_line);
  CHECK(m.substr(0, s.header_end) == "A: 1\nB: 2\n folded\n");
  CHECK(m.substr(s.body_start) == "body\n");
}

TEST_CASE("headers: a line that is not a field starts the body") {
  std::string m = "A: 1\nthis is text\nC: 3\n";
  auto s = quail::split_message(m);
  CHECK_FALSE(s.blank_line);
  CHECK(m.substr(0, s.header_end) == "A: 1\n");
  CHECK(m.substr(s.body_start) == "this is text\nC: 3\n");
}

TEST_CASE("headers: a message without header, a header without body, and an empty message") {
  auto s = quail::split_message("hello world\n");
  CHECK(s.header_end == 0);
  CHECK(s.body_start == 0);
  s = quail::split_message(" leading space\nA: 1\n");
  CHECK(s.header_end == 0);
  std::string h = "A: 1\nB: 2";
  s = quail::split_message(h);
  CHECK(s.header_end == h.size());
  CHECK_FALSE(s.blank_line);
  s = quail::split_message("");
  CHECK(s.header_end == 0);
  s = quail::split_message("\r\nbody");
  CHECK(s.blank_line);
  CHECK(s.body_start == 2);
}

TEST_CASE("headers: fields keep their raw text and unfold their value") {
  auto f = quail::parse_header("Subject: a long\r\n  subject\r\nTo:\tbob@example.test \nX-E:\n");
  REQUIRE(f);
  REQUIRE(f->size() == 3);
  CHECK((*f)[0].name == "Subject");
  CHECK((*f)[0].raw == "Subject: a long\r\n  subject\r\n");
  CHECK((*f)[0].value() == "a long  subject");
  CHECK((*f)[1].value() == "bob@example.test");
  CHECK((*f)[2].value() == "");
  CHECK(quail::find_field(*f, "subject") == &(*f)[0]);
  CHECK(quail::find_field(*f, "TO") == &(*f)[1]);
  CHECK(quail::find_field(*f, "Cc") == nullptr);
}

TEST_CASE("headers: obsolete space before the colon is not part of the name") {
  auto f = quail::parse_header("Subject  : x\n");
  REQUIRE(f);
  CHECK((*f)[0].name == "Subject");
  CHECK((*f)[0].value() == "x");
}

TEST_CASE("headers: malformed header sections are refused with the line number") {
  const char* bad[] = {" starts folded\n", "A: 1\nnot a field\n", "A: 1\n\nB: 2\n"};
  for (const char* b : bad) {
    CAPTURE(b);
    auto f = quail::parse_header(b);
    REQUIRE_FALSE(f);
    CHECK(f.error().kind == quail::ErrorKind::format);
    CHECK(f.error().reason.find("header line") == 0);
  }
}

TEST_CASE("headers: unfold removes line breaks and keeps the whitespace") {
  CHECK(quail::unfold("a\r\n b\n\tc\r\n") == "a b\tc");
  CHECK(quail::unfold("bare\rcr") == "bare\rcr");
}

TEST_CASE("headers: address lists") {
  struct Case {
    const char* value;
    std::vector<Mailbox> want;
  } cases[] = {
      {"bob@example.test", {{"", "bob@example.test"}}},
      {"Bob <bob@example.test>", {{"Bob", "bob@example.test"}}},
      {"\"Smith, John\" <john@example.test>, carol@example.test",
       {{"Smith, John", "john@example.test"}, {"", "carol@example.test"}}},
      {"John Q. Public <jqp@example.test>", {{"John Q. Public", "jqp@example.test"}}},
      {"bob@example.test (Bob (the builder))", {{"", "bob@example.test"}}},
      {"(lead) bob (x) @ (y) example . test", {{"", "bob@example.test"}}},
      {"\"john smith\"@example.test", {{"", "\"john smith\"@example.test"}}},
      {"\"a\\\"b\" <\"a\\\"b\"@example.test>", {{"a\"b", "\"a\\\"b\"@example.test"}}},
      {"first.last@example.test", {{"", "first.last@example.test"}}},
      {"user@[192.0.2.1]", {{"", "user@[192.0.2.1]"}}},
      {"team: a@example.test, B <b@example.test>;, c@example.test",
       {{"", "a@example.test"}, {"B", "b@example.test"}, {"", "c@example.test"}}},
      {"undisclosed-recipients:;", {}},
      {"", {}},
      {" , a@example.test,, ", {{"", "a@example.test"}}},
      {"<@relay.test,@other.test:bob@example.test>", {{"", "bob@example.test"}}},
      {"bob", {{"", "bob"}}},
      {"Bob <bob>", {{"Bob", "bob"}}},
      {"J\xc3\xb6rg <j\xc3\xb6rg@example.test>", {{"J\xc3\xb6rg", "j\xc3\xb6rg@example.test"}}},
      {"=?utf-8?q?J=C3=B6rg?= <j@example.test>", {{"=?utf-8?q?J=C3=B6rg?=", "j@example.test"}}},
      {"a@example.test,\r\n b@example.test", {{"", "a@example.test"}, {"", "b@example.test"}}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.value);
    auto got = quail::parse_address_list(c.value);
    REQUIRE_MESSAGE(got, got.error().reason);
    CHECK(*got == c.want);
  }
}

TEST_CASE("headers: malformed address lists are refused") {
  const char* bad[] = {
      "John Smith",                   // a phrase with no address
      "a@example.test b@example.test",  // missing comma
      "<>",                           // null address in a header
      "Bob <bob@example.test",        // unclosed angle
      "a@example.test (unclosed",     // unterminated comment
      "\"unterminated@example.test",  // unterminated quoted string
      "a@",                           // empty domain
      "a@example.test.",              // trailing dot in the domain
      ".a@example.test",              // leading dot in the local part
      "a..b@example.test",            // empty word
      "g: h: a@example.test;;",       // nested group
      "g: a@example.test",            // group not closed
      ": a@example.test;",            // group without a name
      "a@[1.2.3.4",                   // unterminated literal
      "a@example.test)",              // stray parenthesis
      "a\\b@example.test",            // backslash outside quotes
      "a\x01@example.test",           // control byte
  };
  for (const char* b : bad) {
    CAPTURE(b);
    auto got = quail::parse_address_list(b);
    CHECK_FALSE(got);
    if (!got) CHECK(got.error().kind == quail::ErrorKind::format);
  }
  auto nul = quail::parse_address_list(std::string("a@exa\0mple.test", 15));
  CHECK_FALSE(nul);
}

TEST_CASE("headers: display names are quoted only when they must be") {
  CHECK(quail::format_display_name("Cron Daemon") == "Cron Daemon");
  CHECK(quail::format_display_name("John Q. Public") == "\"John Q. Public\"");
  CHECK(quail::format_display_name("Smith, John") == "\"Smith, John\"");
  CHECK(quail::format_display_name("say \"hi\"\\") == "\"say \\\"hi\\\"\\\\\"");
  CHECK(quail::format_display_name("two  spaces") == "\"two  spaces\"");
  CHECK(quail::format_display_name("line\nbreak") == "\"line break\"");
  CHECK(quail::format_mailbox("", "a@example.test") == "a@example.test");
  CHECK(quail::format_mailbox("Cron Daemon", "root@example.test") == "Cron Daemon <root@example.test>");
  // What we write parses back to the same mailbox.
  auto back = quail::parse_address_list(quail::format_mailbox("Smith, \"J\"", "j@example.test"));
  REQUIRE(back);
  CHECK((*back)[0] == Mailbox{"Smith, \"J\"", "j@example.test"});
}

TEST_CASE("headers: each mailbox says where its address ends, to qualify it in place") {
  std::string v = " Bob <bob>, root (Cron Daemon),\n team: carol;, \"x y\"@example.test";
  auto boxes = quail::parse_address_list(v);
  REQUIRE(boxes);
  REQUIRE(boxes->size() == 4);
  for (auto b = boxes->rbegin(); b != boxes->rend(); ++b) {
    if (b->address.find('@') == std::string::npos) v.insert(b->end, "@example.test");
  }
  CHECK(v == " Bob <bob@example.test>, root@example.test (Cron Daemon),\n team: carol@example.test;, \"x y\"@example.test");
}
