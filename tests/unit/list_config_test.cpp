// Unit tests for lib/list_config and lib/list_post: the list's settings file, the
// verdict on a post and the copy subscribers get (man/list-post.8).
#include <doctest/doctest.h>

#include <string>

#include "headers.hpp"
#include "list_config.hpp"
#include "list_post.hpp"

using quail::ListConfig;
using quail::parse_list_config;
using quail::list::judge_post;
using quail::list::PostVerdict;

namespace {

ListConfig sample() {
  ListConfig c;
  c.address = "alice-team@example.test";
  c.owner = "alice@example.test";
  c.root = "/var/quail";
  c.prefix = "[team]";
  return c;
}

std::vector<quail::HeaderField> fields(const std::string& head) { return quail::parse_header(head).value(); }

}  // namespace

TEST_CASE("list config: serialize and parse round-trip; names of the list's addresses") {
  ListConfig c = sample();
  c.moderated = true;
  c.archive = true;
  c.digest = true;
  c.digest_size = 1;
  c.bounce_window = 0;
  auto back = parse_list_config(quail::serialize_list_config(c));
  REQUIRE(back.ok());
  CHECK(*back == c);
  CHECK(c.local() == "alice-team");
  CHECK(c.domain() == "example.test");
  CHECK(c.address_for("subscribe") == "alice-team-subscribe@example.test");
  CHECK(c.list_id() == "alice-team.example.test");
}

TEST_CASE("list config: comments and blank lines are allowed; defaults apply") {
  auto c = parse_list_config("# my list\n\naddress=a-b@x.test\nowner=a@x.test\nroot=/r\n");
  REQUIRE(c.ok());
  CHECK(c->cookie_lifetime == 10 * 86400);
  CHECK(c->bounce_window == 7 * 86400);
  CHECK_FALSE(c->moderated);
}

TEST_CASE("list config: every malformed line is refused with its number") {
  const std::string base = "address=a-b@x.test\nowner=a@x.test\nroot=/r\n";
  struct Case {
    std::string text;
    std::string where;
  } cases[] = {
      {base + "moderated=yes\n", "config:4:"},
      {base + "members_only=2\n", "config:4:"},
      {base + "colour=blue\n", "config:4:"},
      {base + "owner=b@x.test\n", "config:4:"},
      {base + "cookie_lifetime=-1\n", "config:4:"},
      {base + "cookie_lifetime=9999999999\n", "config:4:"},
      {base + "bounce_window=\n", "config:4:"},
      {base + "prefix=a\tb\n", "config:4:"},
      {base + "just words\n", "config:4:"},
      {"address=a-b@x.test\nowner=a@x.test\n", "config:2:"},  // no root
      {"address=nodomain\nowner=a@x.test\nroot=/r\n", "config:1:"},
      {"address=a-b@x.test\nowner=a@x.test\nroot=relative\n", "config:3:"},
      {"address=a-b@x.test\nowner=a@x.test\nroot=/r", "config:3:"},  // no line end
  };
  for (const auto& k : cases) {
    CAPTURE(k.text);
    auto r = parse_list_config(k.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().reason.rfind(k.where, 0) == 0);
  }
}

TEST_CASE("list post: the verdict by sender, membership, options and loops") {
  ListConfig c = sample();
  auto plain = fields("Subject: hi\n");
  CHECK(judge_post(c, "bob@example.test", plain, false) == PostVerdict::distribute);
  CHECK(judge_post(c, "", plain, true) == PostVerdict::automatic);
  CHECK(judge_post(c, "#@[]", plain, true) == PostVerdict::automatic);
  CHECK(judge_post(c, "Mailer-Daemon@example.test", plain, true) == PostVerdict::automatic);
  CHECK(judge_post(c, "bob@example.test", fields("Auto-Submitted: auto-replied\n"), true) == PostVerdict::automatic);
  CHECK(judge_post(c, "bob@example.test", fields("Auto-Submitted: no (a person)\n"), true) == PostVerdict::distribute);
  CHECK(judge_post(c, "bob@example.test", fields("List-Id: Team <alice-team.example.test>\n"), true) ==
        PostVerdict::loop);
  CHECK(judge_post(c, "bob@example.test", fields("Delivered-To: Alice-Team@example.test\n"), true) ==
        PostVerdict::loop);
  c.members_only = true;
  CHECK(judge_post(c, "eve@example.test", plain, false) == PostVerdict::not_member);
  CHECK(judge_post(c, "bob@example.test", plain, true) == PostVerdict::distribute);
  c.moderated = true;  // members-only and moderated: members post, others wait
  CHECK(judge_post(c, "eve@example.test", plain, false) == PostVerdict::hold);
  CHECK(judge_post(c, "bob@example.test", plain, true) == PostVerdict::distribute);
  c.members_only = false;  // moderated alone: everyone waits
  CHECK(judge_post(c, "bob@example.test", plain, true) == PostVerdict::hold);
}

TEST_CASE("list post: the copy drops the list's own fields, prefixes the subject once, adds List-*") {
  ListConfig c = sample();
  std::string head = "Return-Path: <x@y>\nSubject: hello\n world\nList-Id: <other.list>\nPrecedence: bulk\nFrom: b@x\n";
  std::string copy = quail::list::list_copy(c, fields(head), "body\n");
  CHECK(copy.rfind("Delivered-To: alice-team@example.test\n", 0) == 0);
  CHECK(copy.find("Return-Path") == std::string::npos);
  CHECK(copy.find("other.list") == std::string::npos);
  CHECK(copy.find("Precedence: bulk") == std::string::npos);
  CHECK(copy.find("Subject: [team] hello\n world\n") != std::string::npos);
  CHECK(copy.find("List-Id: <alice-team.example.test>\n") != std::string::npos);
  CHECK(copy.find("List-Unsubscribe: <mailto:alice-team-unsubscribe@example.test>\n") != std::string::npos);
  CHECK(copy.find("Precedence: list\n\nbody\n") != std::string::npos);
  std::string reply = quail::list::list_copy(c, fields("Subject: Re: [team] hello\n"), "");
  CHECK(reply.find("Subject: Re: [team] hello\n") != std::string::npos);
  std::string none = quail::list::list_copy(c, fields("From: b@x\n"), "");
  CHECK(none.find("Subject: [team]\n") != std::string::npos);
}

TEST_CASE("list config: from_rewrite is dmarc by default, round-trips, and refuses other words") {
  const std::string base = "address=a-b@x.test\nowner=a@x.test\nroot=/r\n";
  auto c = parse_list_config(base);
  REQUIRE(c.ok());
  CHECK(c->from_rewrite == quail::FromRewrite::dmarc);
  for (auto r : {quail::FromRewrite::always, quail::FromRewrite::never, quail::FromRewrite::dmarc}) {
    auto v = parse_list_config(base + "from_rewrite=" + std::string(quail::from_rewrite_name(r)) + "\n");
    REQUIRE(v.ok());
    CHECK(v->from_rewrite == r);
    CHECK(parse_list_config(quail::serialize_list_config(*v)).value() == *v);
  }
  auto bad = parse_list_config(base + "from_rewrite=yes\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().reason == "config:4: from_rewrite must be dmarc, always or never");
}
