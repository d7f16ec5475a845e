// Unit tests for smtpd's milter changes to a spooled message
// (bin-src/smtpd/milter_message.cpp): header indices as libmilter counts them,
// body replacement, envelope changes, and a message no filter changed passed on
// byte for byte.
#include <doctest/doctest.h>

#include <string>
#include <sys/mman.h>
#include <unistd.h>

#include "../../bin-src/smtpd/milter_message.cpp"

using namespace quail;
using namespace quail::smtpd;

namespace {

struct StringSink : MessageSink {
  std::string out;
  bool write(std::string_view b) override {
    out.append(b);
    return true;
  }
};

struct Spool {
  Fd fd{::memfd_create("milter-test", MFD_CLOEXEC)};
  explicit Spool(const std::string& text) { REQUIRE(write_all(fd.get(), text)); }
};

milter::Reply change(milter::ReplyKind k, std::string name, std::string value, uint32_t index = 0) {
  milter::Reply r;
  r.kind = k;
  r.name = std::move(name);
  r.value = std::move(value);
  r.index = index;
  return r;
}

std::string rewrite(const std::string& text, const std::vector<milter::Reply>& changes, Envelope* env = nullptr) {
  Spool s(text);
  SpooledMessage m;
  REQUIRE(m.parse(s.fd.get()));
  Envelope local;
  for (const auto& c : changes) CHECK(m.apply(c, false, env ? *env : local));
  StringSink out;
  REQUIRE(m.write(s.fd.get(), out));
  return out.out;
}

const std::string message =
    "Received: from x\n\tby y\nSubject: one\nX-A: 1\nx-a: 2\n\nbody line\n";

}  // namespace

TEST_CASE("milter message: header fields are found with their folding, the body after the empty line") {
  Spool s(message);
  SpooledMessage m;
  REQUIRE(m.parse(s.fd.get()));
  REQUIRE(m.headers().size() == 4);
  CHECK(m.headers()[0].name() == "Received");
  CHECK(m.headers()[0].value(false) == "from x\n\tby y");
  CHECK(m.headers()[1].value(true) == " one");
  CHECK(m.body_offset() == static_cast<off_t>(message.find("\n\n") + 2));
}

TEST_CASE("milter message: unchanged, the message passes byte for byte") {
  CHECK(rewrite(message, {}) == message);
  std::string no_body = "Subject: x\nX-B: y\n";
  CHECK(rewrite(no_body, {}) == no_body);
  std::string not_headers = "this is no header\nbody\n";
  CHECK(rewrite(not_headers, {}) == not_headers);
}

TEST_CASE("milter message: add goes last, insert 0 goes first, change counts fields of that name from 1") {
  using K = milter::ReplyKind;
  std::string out = rewrite(message, {change(K::add_header, "X-Last", "end"), change(K::insert_header, "X-First", "top", 0),
                                      change(K::change_header, "X-A", "two", 2), change(K::change_header, "subject", "", 1)});
  CHECK(out == "X-First: top\nReceived: from x\n\tby y\nX-A: 1\nX-A: two\nX-Last: end\n\nbody line\n");
}

TEST_CASE("milter message: a filter's CRLF folding is stored with LF; deleting what is not there changes nothing") {
  using K = milter::ReplyKind;
  std::string out = rewrite(message, {change(K::add_header, "DKIM-Signature", "v=1;\r\n\tb=abc"),
                                      change(K::change_header, "X-None", "", 1)});
  CHECK(out.find("\nDKIM-Signature: v=1;\n\tb=abc\n\nbody line\n") != std::string::npos);
}

TEST_CASE("milter message: a replaced body keeps the header and ends in one LF") {
  milter::Reply a, b;
  a.kind = b.kind = milter::ReplyKind::replace_body;
  a.body = "new\r\nbo";
  b.body = "dy\r\n";
  CHECK(rewrite(message, {a, b}) == "Received: from x\n\tby y\nSubject: one\nX-A: 1\nx-a: 2\n\nnew\nbody\n");
}

TEST_CASE("milter message: sender and recipient changes, invalid addresses refused") {
  Envelope env;
  env.sender = "bob@example.test";
  env.recipients.push_back(Recipient{"alice@example.test", "", ""});
  Spool s(message);
  SpooledMessage m;
  REQUIRE(m.parse(s.fd.get()));
  milter::Reply r;
  r.kind = milter::ReplyKind::change_from;
  r.address = "<>";
  CHECK(m.apply(r, false, env));
  CHECK(env.sender.empty());
  r.kind = milter::ReplyKind::add_rcpt;
  r.address = "<carol@example.test>";
  CHECK(m.apply(r, false, env));
  CHECK(m.apply(r, false, env));  // a second add is one recipient
  REQUIRE(env.recipients.size() == 2);
  r.kind = milter::ReplyKind::delete_rcpt;
  r.address = "<ALICE@example.test>";
  CHECK(m.apply(r, false, env));
  REQUIRE(env.recipients.size() == 1);
  CHECK(env.recipients[0].address == "carol@example.test");
  r.kind = milter::ReplyKind::add_rcpt;
  r.address = "<not an address>";
  CHECK_FALSE(m.apply(r, false, env));
  CHECK_FALSE(m.changed());  // envelope changes leave the message as it is
}
