// Unit tests for lib/inject_client's InjectSession against a fake queue-inject -s
// (a Python script in ROOT/bin): started at the first message, one process for
// many messages, each answer mapped like an exit code, a dead or confused
// process is a temporary failure for its message and the next one starts anew.
#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "inject_client.hpp"

using quail::Envelope;
using quail::InjectSession;
using quail::MessageSink;

namespace fs = std::filesystem;

namespace {

// Reads frames strictly enough for these tests; $FAKE_QI picks a misbehaviour
// for message 2: kill (SIGKILL itself inside it), garbage (a nonsense answer),
// 53 (a disk-full answer). Each message it got is written to ROOT/got.<pid>.<n>.
constexpr const char* fake_queue_inject = R"(#!/usr/bin/python3
import os, sys, signal
assert sys.argv[1:] == ["-s"], sys.argv
mode = os.environ.get("FAKE_QI", "")
root = os.environ["QUAIL_ROOT"]
inp, out = sys.stdin.buffer, sys.stdout.buffer
n, data = 0, b""
while True:
    h = inp.readline()
    if not h:
        sys.exit(0 if not data else 54)
    kind, size = h[:1], int(h[1:-1] or 0)
    if n == 1 and mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    body = inp.read(size)
    if kind == b"D":
        data += body
        continue
    n += 1
    with open("%s/got.%d.%d" % (root, os.getpid(), n), "wb") as f:
        f.write(b"A" if kind == b"A" else data + b"|" + body)
    data = b""
    if kind == b"A":
        out.write(b"91 aborted\n")
    elif n == 2 and mode == "garbage":
        out.write(b"ok then\n")
    elif n == 2 and mode == "53":
        out.write(b"53 unable to write tmp/1.2: No space left on device\n")
    else:
        out.write(b"0 K%d\n" % (1000 + n))
    out.flush()
)";

struct Fixture {
  std::string root;
  std::optional<std::string> old_qp;
  Fixture(const char* mode = "") {
    char tmpl[] = "/tmp/quail-ut-session-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    root = tmpl;
    if (const char* o = std::getenv("QUEUE_PROGRAM")) old_qp = o;
    ::unsetenv("QUEUE_PROGRAM");
    ::setenv("FAKE_QI", mode, 1);
    std::signal(SIGPIPE, SIG_IGN);
    fs::create_directory(root + "/bin");
    std::ofstream(root + "/bin/queue-inject") << fake_queue_inject;
    ::chmod((root + "/bin/queue-inject").c_str(), 0755);
  }
  ~Fixture() {
    if (old_qp) {
      ::setenv("QUEUE_PROGRAM", old_qp->c_str(), 1);
    } else {
      ::unsetenv("QUEUE_PROGRAM");
    }
    ::unsetenv("FAKE_QI");
    fs::remove_all(root);
  }
  std::string got(pid_t pid, int n) const {
    std::ifstream in(root + "/got." + std::to_string(pid) + "." + std::to_string(n), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
};

Envelope envelope() {
  Envelope e;
  e.sender = "bob@example.test";
  e.recipients = {quail::Recipient{"alice@example.test", "", ""}};
  return e;
}

std::function<bool(MessageSink&)> message(const std::string& text) {
  return [text](MessageSink& s) { return s.write(text); };
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

}  // namespace

TEST_CASE("inject session: started at the first message, one process for many, ended by close") {
  Fixture f;
  InjectSession s(f.root);
  CHECK(s.pid() == 0);
  pid_t first = 0;
  for (int i = 1; i <= 3; ++i) {
    int code = -2;
    auto o = s.inject(message("Subject: " + std::to_string(i) + "\n\nhi\n"), envelope(), &code);
    REQUIRE(o.ok());
    CHECK(code == 0);
    CHECK(o->id == std::to_string(1000 + i));
    if (i == 1) first = s.pid();
    CHECK(s.pid() == first);
  }
  CHECK(f.got(first, 2) == "Subject: 2\n\nhi\n|" + quail::serialize_envelope(envelope()));
  s.close();
  CHECK(s.pid() == 0);
  CHECK_FALSE(alive(first));
}

TEST_CASE("inject session: a large message streams in many frames and arrives intact") {
  Fixture f;
  InjectSession s(f.root);
  std::string big;
  for (int i = 0; i < 60000; ++i) big += "line " + std::to_string(i) + "\n";
  auto o = s.inject([&](MessageSink& sink) {
    for (size_t off = 0; off < big.size(); off += 10000) {
      if (!sink.write(std::string_view(big).substr(off, 10000))) return false;
    }
    return true;
  }, envelope());
  REQUIRE(o.ok());
  CHECK(o->text == "ok");
  CHECK(f.got(s.pid(), 1) == big + "|" + quail::serialize_envelope(envelope()));
}

TEST_CASE("inject session: a message the caller gives up is aborted, and the session goes on") {
  Fixture f;
  InjectSession s(f.root);
  int code = -2;
  auto o = s.inject([](MessageSink& sink) { return sink.write("half a mess") && false; }, envelope(), &code);
  REQUIRE(o.ok());
  CHECK(code == 91);
  CHECK_FALSE(o->permanent);
  CHECK(f.got(s.pid(), 1) == "A");
  auto next = s.inject(message("x\n"), envelope(), &code);
  REQUIRE(next.ok());
  CHECK(code == 0);
}

TEST_CASE("inject session: a process killed inside a message fails that message; the next starts anew") {
  Fixture f("kill");
  InjectSession s(f.root);
  int code = -2;
  REQUIRE(s.inject(message("one\n"), envelope(), &code).ok());
  CHECK(code == 0);
  pid_t first = s.pid();
  auto o = s.inject(message("two\n"), envelope(), &code);
  REQUIRE(o.ok());
  CHECK(code == -1);
  CHECK_FALSE(o->permanent);
  CHECK(o->text.find("(#4.") != std::string::npos);
  CHECK(s.pid() == 0);
  auto third = s.inject(message("three\n"), envelope(), &code);
  REQUIRE(third.ok());
  CHECK(code == 0);
  CHECK(s.pid() != first);
}

TEST_CASE("inject session: a nonsense answer is a temporary failure and ends that process") {
  Fixture f("garbage");
  InjectSession s(f.root);
  int code = -2;
  REQUIRE(s.inject(message("one\n"), envelope(), &code).ok());
  pid_t first = s.pid();
  auto o = s.inject(message("two\n"), envelope(), &code);
  REQUIRE(o.ok());
  CHECK(code == -1);
  CHECK_FALSE(o->permanent);
  CHECK_FALSE(alive(first));
  REQUIRE(s.inject(message("three\n"), envelope(), &code).ok());
  CHECK(code == 0);
}

TEST_CASE("inject session: an answer maps like the exit code it carries") {
  Fixture f("53");
  InjectSession s(f.root);
  int code = -2;
  REQUIRE(s.inject(message("one\n"), envelope(), &code).ok());
  pid_t first = s.pid();
  auto o = s.inject(message("two\n"), envelope(), &code);
  REQUIRE(o.ok());
  CHECK(code == 53);
  CHECK(o->text == quail::qq::describe(53).text);
  CHECK(s.pid() == first);  // a disk-full message does not end the session
}

TEST_CASE("inject session: with QUEUE_PROGRAM each message runs the filter, classic protocol") {
  Fixture f;
  std::string got = f.root + "/filter-got";
  std::ofstream(f.root + "/filter") << "#!/bin/sh\ncat >> '" << got << "'; cat <&1 >/dev/null; exit 0\n";
  ::chmod((f.root + "/filter").c_str(), 0755);
  ::setenv("QUEUE_PROGRAM", (f.root + "/filter").c_str(), 1);
  InjectSession s(f.root);
  int code = -2;
  for (const char* m : {"a\n", "b\n"}) {
    auto o = s.inject(message(m), envelope(), &code);
    REQUIRE(o.ok());
    CHECK(code == 0);
  }
  CHECK(s.pid() == 0);
  std::ifstream in(got);
  CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == "a\nb\n");
}

TEST_CASE("inject session: a queue-inject that cannot be started is an error, not a crash") {
  Fixture f;
  fs::remove(f.root + "/bin/queue-inject");
  std::ofstream(f.root + "/bin/queue-inject") << "not executable";
  InjectSession s(f.root);
  auto o = s.inject(message("x\n"), envelope());
  CHECK_FALSE(o.ok());
}
