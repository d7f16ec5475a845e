// Unit tests for lib/inject_client: QUEUE_PROGRAM selects the queue program, its
// exit code maps through queue_exit's one table, and the message and envelope
// reach its fd 0 and fd 1 intact.
#include <doctest/doctest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "fd.hpp"
#include "inject_client.hpp"

using quail::Envelope;
using quail::inject_message;
using quail::Recipient;

namespace fs = std::filesystem;

namespace {

// A temp ROOT holding small shell scripts, and QUEUE_PROGRAM restored afterwards.
struct Fixture {
  std::string root;
  std::optional<std::string> old_qp;
  Fixture() {
    char tmpl[] = "/tmp/quail-ut-inject-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    root = tmpl;
    if (const char* o = std::getenv("QUEUE_PROGRAM")) old_qp = o;
    // A queue program that dies early must not kill us with SIGPIPE (every quail
    // program ignores it through run_main).
    std::signal(SIGPIPE, SIG_IGN);
  }
  ~Fixture() {
    if (old_qp) {
      ::setenv("QUEUE_PROGRAM", old_qp->c_str(), 1);
    } else {
      ::unsetenv("QUEUE_PROGRAM");
    }
    fs::remove_all(root);
  }
  // Writes an executable script and makes it the queue program.
  std::string use_script(const std::string& name, const std::string& body) {
    std::string path = root + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    ::chmod(path.c_str(), 0755);
    ::setenv("QUEUE_PROGRAM", path.c_str(), 1);
    return path;
  }
};

Envelope sample_envelope() {
  Envelope e;
  e.sender = "bob@example.test";
  e.auth = "bob@example.test";
  e.recipients = {Recipient{"alice@example.test", "SUCCESS,FAILURE", "rfc822;alice@example.test"},
                  Recipient{"carol@example.org", "", ""}};
  return e;
}

std::function<bool(int)> writer(const std::string& msg) {
  return [msg](int fd) { return quail::write_all(fd, msg); };
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("inject client: a queue program exiting 53 gives a temporary outcome") {
  Fixture f;
  f.use_script("qp", "cat >/dev/null; cat <&1 >/dev/null; exit 53");
  int code = -2;
  auto o = inject_message(f.root, writer("Subject: x\n\nhi\n"), sample_envelope(), &code);
  REQUIRE(o.ok());
  CHECK(code == 53);
  CHECK_FALSE(o->permanent);
  CHECK(o->text.find("(#4.") != std::string::npos);
}

TEST_CASE("inject client: a queue program exiting 31 gives a permanent outcome") {
  Fixture f;
  f.use_script("qp", "cat >/dev/null; cat <&1 >/dev/null; exit 31");
  int code = -2;
  auto o = inject_message(f.root, writer("Subject: x\n\nhi\n"), sample_envelope(), &code);
  REQUIRE(o.ok());
  CHECK(code == 31);
  CHECK(o->permanent);
  CHECK(o->text.find("(#5.") != std::string::npos);
}

TEST_CASE("inject client: message bytes arrive on fd 0 and the envelope on fd 1, intact") {
  Fixture f;
  std::string msg_file = f.root + "/got-message", env_file = f.root + "/got-envelope";
  f.use_script("qp", "cat > '" + msg_file + "' || exit 54\ncat <&1 > '" + env_file + "' || exit 54\nexit 0");
  std::string msg = "Received: from x\nSubject: bytes\n\n\xff\xfe binary \r\n";
  msg += std::string("\0 nul\n", 6);
  for (int i = 0; i < 20000; ++i) msg += "line " + std::to_string(i) + "\n";  // more than a pipe holds
  int code = -2;
  auto o = inject_message(f.root, writer(msg), sample_envelope(), &code);
  REQUIRE(o.ok());
  CHECK(code == 0);
  CHECK_FALSE(o->permanent);
  CHECK(slurp(msg_file) == msg);
  CHECK(slurp(env_file) == quail::serialize_envelope(sample_envelope()));
}

TEST_CASE("inject client: exit 82 takes its verdict from fd 6") {
  Fixture f;
  f.use_script("qp", "cat >/dev/null; cat <&1 >/dev/null; printf 'Dvirus found (#5.7.1)' >&6; exit 82");
  auto o = inject_message(f.root, writer("x\n"), sample_envelope());
  REQUIRE(o.ok());
  CHECK(o->permanent);
  CHECK(o->text == "virus found (#5.7.1)");
  f.use_script("qp", "cat >/dev/null; cat <&1 >/dev/null; printf 'Zscanner busy (#4.3.0)' >&6; exit 82");
  auto z = inject_message(f.root, writer("x\n"), sample_envelope());
  REQUIRE(z.ok());
  CHECK_FALSE(z->permanent);
  CHECK(z->text == "scanner busy (#4.3.0)");
}

TEST_CASE("inject client: a queue program killed by a signal is temporary") {
  Fixture f;
  f.use_script("qp", "kill -KILL $$");
  int code = 0;
  auto o = inject_message(f.root, writer("x\n"), sample_envelope(), &code);
  REQUIRE(o.ok());
  CHECK(code == -1);
  CHECK_FALSE(o->permanent);
}

TEST_CASE("inject client: a queue program that exits 0 without reading the message is not success") {
  Fixture f;
  f.use_script("qp", "exit 0");
  auto o = inject_message(f.root, writer(std::string(1 << 20, 'x')), sample_envelope());
  REQUIRE(o.ok());
  CHECK_FALSE(o->permanent);
  CHECK(o->text != "ok");
  CHECK(o->text.find("(#4.") != std::string::npos);
}

TEST_CASE("inject client: a message writer that fails gives a temporary outcome") {
  Fixture f;
  f.use_script("qp", "cat >/dev/null; cat <&1 >/dev/null; exit 0");
  auto o = inject_message(f.root, [](int) { return false; }, sample_envelope());
  REQUIRE(o.ok());
  CHECK_FALSE(o->permanent);
  CHECK(o->text != "ok");
}

TEST_CASE("inject client: a queue program that cannot be started is an error") {
  Fixture f;
  ::setenv("QUEUE_PROGRAM", (f.root + "/missing").c_str(), 1);
  auto o = inject_message(f.root, writer("x\n"), sample_envelope());
  CHECK_FALSE(o.ok());
}

TEST_CASE("inject client: QUEUE_PROGRAM wins; otherwise ROOT/bin/queue-inject or the build dir's") {
  Fixture f;
  ::setenv("QUEUE_PROGRAM", "/usr/local/bin/scanner", 1);
  CHECK(quail::queue_program(f.root) == "/usr/local/bin/scanner");
  ::setenv("QUEUE_PROGRAM", "", 1);  // empty counts as unset
  std::string fallback = quail::queue_program(f.root);
  CHECK(fallback == fs::read_symlink("/proc/self/exe").parent_path().string() + "/queue-inject");
  ::unsetenv("QUEUE_PROGRAM");
  fs::create_directory(f.root + "/bin");
  std::ofstream(f.root + "/bin/queue-inject") << "#!/bin/sh\n";
  CHECK(quail::queue_program(f.root) == f.root + "/bin/queue-inject");
}
