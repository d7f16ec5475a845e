// Unit tests for lib/milter_wire (the milter protocol's packets, version 6) and
// lib/milter_config (control/milters).
#include <doctest/doctest.h>

#include <string>

#include "milter_config.hpp"
#include "milter_wire.hpp"

using namespace quail;
using namespace quail::milter;

namespace {

std::string be32(uint32_t v) {
  std::string s;
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>(v >> shift));
  return s;
}

Packet packet(char code, std::string data) { return Packet{code, std::move(data)}; }

}  // namespace

TEST_CASE("milter: a packet is a big-endian length counting the command byte, then the data") {
  CHECK(encode('Q') == std::string("\0\0\0\1Q", 5));
  CHECK(encode_strings(cmd::helo, {"mx.test"}) == std::string("\0\0\0\11Hmx.test\0", 13));
  std::string opt = encode_optneg();
  CHECK(opt.size() == 17);
  CHECK(opt.substr(0, 5) == std::string("\0\0\0\15O", 5));
  CHECK(opt.substr(5, 4) == be32(6));
}

TEST_CASE("milter: connect carries family, port and address; an unknown address is family U") {
  std::string v4 = encode_connect("[192.0.2.1]", "192.0.2.1", 2525);
  CHECK(v4.substr(5) == std::string("[192.0.2.1]\0" "4\x09\xdd" "192.0.2.1\0", 25));
  std::string v6 = encode_connect("[::1]", "::1", 25);
  CHECK(v6.substr(5) == std::string("[::1]\0" "6\0\x19" "::1\0", 13));
  CHECK(encode_connect("unknown", "unknown", 0).substr(5) == std::string("unknown\0U", 9));
}

TEST_CASE("milter: macros name their command, then name/value pairs") {
  CHECK(encode_macros('M', {{"i", "abc"}, {"{mail_addr}", "a@b"}}).substr(5) ==
        std::string("Mi\0abc\0{mail_addr}\0a@b\0", 23));
}

TEST_CASE("milter: the reader reassembles packets split anywhere and keeps order") {
  std::string stream = encode('c') + encode_strings('h', {"X-A", "1"}) + encode('a');
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    PacketReader r;
    r.feed(stream.substr(0, cut));
    std::string codes;
    for (;;) {
      auto p = r.next();
      REQUIRE(p);
      if (!*p) break;
      codes.push_back((*p)->code);
    }
    r.feed(stream.substr(cut));
    for (;;) {
      auto p = r.next();
      REQUIRE(p);
      if (!*p) break;
      codes.push_back((*p)->code);
    }
    CHECK(codes == "cha");
    CHECK(r.empty());
  }
}

TEST_CASE("milter: a length of zero or past the limit is refused") {
  for (uint32_t len : {0u, static_cast<uint32_t>(max_packet + 1), 0xffffffffu}) {
    PacketReader r;
    r.feed(be32(len) + "c");
    CHECK_FALSE(r.next());
  }
  PacketReader ok;
  ok.feed(be32(static_cast<uint32_t>(max_packet)) + "b");
  auto p = ok.next();
  REQUIRE(p);
  CHECK_FALSE(*p);  // waits for the rest
}

TEST_CASE("milter: option negotiation keeps what we offered and refuses the rest") {
  auto n = parse_optneg(be32(6) + be32(act::add_headers) + be32(proto::no_body | proto::nr_header));
  REQUIRE(n);
  CHECK(n->actions == act::add_headers);
  CHECK(n->protocol == (proto::no_body | proto::nr_header));
  CHECK(parse_optneg(be32(2) + be32(0) + be32(0)));
  CHECK_FALSE(parse_optneg(be32(7) + be32(0) + be32(0)));
  CHECK_FALSE(parse_optneg(be32(1) + be32(0) + be32(0)));
  CHECK_FALSE(parse_optneg(be32(6) + be32(0x200) + be32(0)));       // an action we do not know
  CHECK_FALSE(parse_optneg(be32(6) + be32(0) + be32(0x10000000)));  // SMFIP_MDS_256K: not offered
  CHECK_FALSE(parse_optneg(be32(6) + be32(0)));
  auto sym = parse_optneg(be32(6) + be32(0) + be32(0) + be32(2) + std::string("{mail_addr} i\0", 14));
  REQUIRE(sym);
  REQUIRE(sym->symlists.size() == 1);
  CHECK(sym->symlists[0].second == "{mail_addr} i");
  CHECK_FALSE(parse_optneg(be32(6) + be32(0) + be32(0) + be32(2) + "i"));  // no NUL
}

TEST_CASE("milter: verdict replies take no data") {
  struct Case {
    char code;
    ReplyKind kind;
  };
  for (auto c : {Case{'a', ReplyKind::accept}, Case{'c', ReplyKind::continue_}, Case{'r', ReplyKind::reject},
                 Case{'t', ReplyKind::tempfail}, Case{'d', ReplyKind::discard}, Case{'s', ReplyKind::skip},
                 Case{'p', ReplyKind::progress}}) {
    auto r = parse_reply(packet(c.code, ""));
    REQUIRE(r);
    CHECK(r->kind == c.kind);
    CHECK_FALSE(parse_reply(packet(c.code, "x")));
  }
  CHECK_FALSE(parse_reply(packet('Z', "")));
}

TEST_CASE("milter: replycode is a 4xx or 5xx reply with an optional enhanced code") {
  auto r = parse_reply(packet('y', std::string("550 5.7.1 spam detected\0", 24)));
  REQUIRE(r);
  CHECK(r->kind == ReplyKind::replycode);
  CHECK(r->code == 550);
  CHECK(r->enhanced == "5.7.1");
  CHECK(r->text == "spam detected");
  auto plain = parse_replycode("451 later");
  REQUIRE(plain);
  CHECK(plain->enhanced.empty());
  CHECK(plain->text == "later");
  auto multi = parse_replycode("550-5.7.1 first\r\n550 5.7.1 second");
  REQUIRE(multi);
  CHECK(multi->text == "first second");
  CHECK_FALSE(parse_replycode("250 2.0.0 ok"));             // not a refusal
  CHECK_FALSE(parse_replycode("550-5.7.1 no last line"));   // continuation with nothing after
  CHECK_FALSE(parse_replycode("550 a\r\n550 b"));           // a final line before the end
  CHECK_FALSE(parse_replycode("550-a\r\n451 b"));           // codes differ
  CHECK_FALSE(parse_replycode("550 bad\x01text"));
  CHECK(parse_replycode("451 4.5.1 x")->enhanced.empty() == false);
  CHECK(parse_replycode("550 4.7.1 x")->enhanced.empty());  // class must match the code
  CHECK_FALSE(parse_reply(packet('y', "550 no nul")));
}

TEST_CASE("milter: header changes are checked field names and values") {
  auto add = parse_reply(packet('h', std::string("X-Spam\0yes\0", 11)));
  REQUIRE(add);
  CHECK(add->kind == ReplyKind::add_header);
  CHECK(add->name == "X-Spam");
  CHECK(add->value == "yes");
  auto ins = parse_reply(packet('i', be32(0) + std::string("DKIM-Signature\0v=1;\r\n\tb=abc\0", 28)));
  REQUIRE(ins);
  CHECK(ins->kind == ReplyKind::insert_header);
  CHECK(ins->index == 0);
  CHECK(ins->value == "v=1;\r\n\tb=abc");
  auto del = parse_reply(packet('m', be32(1) + std::string("Subject\0\0", 9)));
  REQUIRE(del);
  CHECK(del->kind == ReplyKind::change_header);
  CHECK(del->value.empty());
  CHECK_FALSE(parse_reply(packet('h', std::string("Bad Name\0v\0", 11))));
  CHECK_FALSE(parse_reply(packet('h', std::string("X:y\0v\0", 6))));
  CHECK_FALSE(parse_reply(packet('h', std::string("X\0line\nnot folded\0", 19))));
  CHECK_FALSE(parse_reply(packet('h', std::string("X\0v\0extra\0", 10))));
  CHECK_FALSE(parse_reply(packet('h', std::string("X\0v", 3))));
  CHECK_FALSE(parse_reply(packet('i', std::string("\0\0X\0v\0", 6))));  // index cut short
}

TEST_CASE("milter: envelope changes, body and quarantine") {
  auto from = parse_reply(packet('e', std::string("<new@example.test>\0SIZE=10\0", 27)));
  REQUIRE(from);
  CHECK(from->kind == ReplyKind::change_from);
  CHECK(from->address == "<new@example.test>");
  CHECK(from->args == "SIZE=10");
  auto add = parse_reply(packet('+', std::string("<x@example.test>\0", 17)));
  REQUIRE(add);
  CHECK(add->kind == ReplyKind::add_rcpt);
  CHECK(parse_reply(packet('-', std::string("<x@example.test>\0", 17)))->kind == ReplyKind::delete_rcpt);
  CHECK_FALSE(parse_reply(packet('+', std::string("a b@example.test\0", 17))));
  CHECK_FALSE(parse_reply(packet('+', std::string("\0", 1))));
  auto body = parse_reply(packet('b', "new body\r\n"));
  REQUIRE(body);
  CHECK(body->body == "new body\r\n");
  CHECK_FALSE(parse_reply(packet('b', "")));
  auto q = parse_reply(packet('q', std::string("virus found\0", 12)));
  REQUIRE(q);
  CHECK(q->kind == ReplyKind::quarantine);
  CHECK(q->text == "virus found");
  CHECK(q->modification());
}

TEST_CASE("milters: unix and inet filters with options") {
  auto u = parse_filter_spec("unix:/run/opendkim/opendkim.sock", "milters", 1);
  REQUIRE(u);
  CHECK(u->unix_socket);
  CHECK(u->path == "/run/opendkim/opendkim.sock");
  CHECK(u->timeout_s == 0);
  CHECK_FALSE(u->fallback);
  auto i = parse_filter_spec("inet:127.0.0.1:8891 timeout=5 default=accept", "milters", 2);
  REQUIRE(i);
  CHECK(i->host == "127.0.0.1");
  CHECK(i->port == 8891);
  CHECK(i->timeout_s == 5);
  CHECK(*i->fallback == DefaultAction::accept);
  CHECK(parse_filter_spec("inet:[::1]:11332", "milters", 1)->host == "::1");
  CHECK(parse_filter_spec("inet:localhost:11332", "milters", 1)->host == "127.0.0.1");
  for (const char* bad : {"opendkim", "unix:relative.sock", "unix:", "inet:127.0.0.1", "inet:127.0.0.1:0",
                          "inet:127.0.0.1:65536", "inet:milter.example:8891", "inet:127.0.0.1:8891 timeout=0",
                          "inet:127.0.0.1:8891 timeout=x", "inet:127.0.0.1:8891 default=reject",
                          "inet:127.0.0.1:8891 timeout=1 timeout=2", "inet:127.0.0.1:8891 fast"}) {
    auto r = parse_filter_spec(bad, "control/milters", 3);
    CHECK_MESSAGE(!r, bad);
    if (!r) CHECK(r.error().reason.find("control/milters:3:") == 0);
  }
  CHECK(parse_default_action("tempfail", "f"));
  CHECK_FALSE(parse_default_action("reject", "f"));
}
