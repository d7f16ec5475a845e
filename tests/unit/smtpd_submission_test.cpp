// smtpd's submission rules (bin-src/smtpd/submission): whose sender a login may
// use, the From: check, and Date / Message-ID added to the header section.
#include <doctest/doctest.h>

#include <string>
#include <vector>

// smtpd's own file (not in lib/: only smtpd uses it), compiled into the tests.
#include "../../bin-src/smtpd/submission.cpp"

using quail::smtpd::sender_belongs;
using quail::smtpd::SubmissionHeaders;

namespace {

quail::Address addr(const char* s) { return quail::parse_address(s).value(); }

const std::vector<std::string> locals = {"mx.example.test"};

// Feeds msg in pieces of n octets; returns what would reach the queue.
std::string run(SubmissionHeaders& h, const std::string& msg, size_t n) {
  std::string out;
  for (size_t i = 0; i < msg.size(); i += n) h.feed(std::string_view(msg).substr(i, n), out);
  h.finish(out);
  return out;
}

SubmissionHeaders alice_headers() {
  return SubmissionHeaders([](const quail::Address& a) { return sender_belongs("alice@example.test", a, locals, {}); },
                           "Thu, 03 Dec 2026 13:00:00 +0000", "<id@mx.example.test>");
}

}  // namespace

TEST_CASE("submission: a virtual login owns its address and extensions, nothing else") {
  CHECK(sender_belongs("alice@example.test", addr("alice@example.test"), locals, {}));
  CHECK(sender_belongs("alice@example.test", addr("Alice@EXAMPLE.test"), locals, {}));
  CHECK(sender_belongs("alice@example.test", addr("alice-lists@example.test"), locals, {}));
  CHECK_FALSE(sender_belongs("alice@example.test", addr("alicex@example.test"), locals, {}));
  CHECK_FALSE(sender_belongs("alice@example.test", addr("alice-@example.test"), locals, {}));
  CHECK_FALSE(sender_belongs("alice@example.test", addr("bob@example.test"), locals, {}));
  CHECK_FALSE(sender_belongs("alice@example.test", addr("alice@other.test"), locals, {}));
  CHECK_FALSE(sender_belongs("alice@example.test", quail::Address(), locals, {}));
}

TEST_CASE("submission: a system login owns its name at each local domain") {
  CHECK(sender_belongs("carol", addr("carol@mx.example.test"), locals, {}));
  CHECK(sender_belongs("carol", addr("carol-x@mx.example.test"), locals, {}));
  CHECK_FALSE(sender_belongs("carol", addr("carol@example.test"), locals, {}));
}

TEST_CASE("submission: control/sendas adds addresses and whole domains") {
  std::vector<std::string> sendas = {"alice@example.test sales@example.test", "carol\t@lists.example.test", "broken"};
  CHECK(sender_belongs("alice@example.test", addr("sales@example.test"), locals, sendas));
  CHECK_FALSE(sender_belongs("alice@example.test", addr("sales2@example.test"), locals, sendas));
  CHECK(sender_belongs("carol", addr("anyone@lists.example.test"), locals, sendas));
  CHECK_FALSE(sender_belongs("alice@example.test", addr("anyone@lists.example.test"), locals, sendas));
}

TEST_CASE("submission: Date and Message-ID are added when missing, in any piece size") {
  const std::string msg = "From: Alice <alice@example.test>\nSubject: hi\n\nbody\n";
  for (size_t n : {1, 2, 7, 1000}) {
    CAPTURE(n);
    auto h = alice_headers();
    std::string out = run(h, msg, n);
    CHECK(h.problem().empty());
    CHECK(out == "From: Alice <alice@example.test>\nSubject: hi\nDate: Thu, 03 Dec 2026 13:00:00 +0000\n"
                 "Message-ID: <id@mx.example.test>\n\nbody\n");
  }
}

TEST_CASE("submission: a message with Date and Message-ID passes unchanged") {
  const std::string msg = "Date: x\nMessage-Id: <a@b>\nFrom: alice-x@example.test\n\nbody\n";
  auto h = alice_headers();
  CHECK(run(h, msg, 3) == msg);
  CHECK(h.problem().empty());
}

TEST_CASE("submission: a From: that is not the user's, or none, is a problem") {
  for (std::string msg : {"From: bob@example.test\n\nx\n", "From: alice@example.test, bob@example.test\n\nx\n",
                          "Subject: no from\n\nx\n", "From: <<<\n\nx\n"}) {
    CAPTURE(msg);
    auto h = alice_headers();
    run(h, msg, 5);
    CHECK_FALSE(h.problem().empty());
  }
}

TEST_CASE("submission: a header section over 64 KiB is a problem and is not held") {
  std::string msg = "From: alice@example.test\n";
  while (msg.size() <= SubmissionHeaders::max_header) msg += "X-Filler: " + std::string(70, 'x') + "\n";
  msg += "\nbody\n";
  auto h = alice_headers();
  std::string out = run(h, msg, 4096);
  CHECK_FALSE(h.problem().empty());
  CHECK(out.size() >= msg.size());
}
