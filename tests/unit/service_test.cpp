// Unit tests for lib/service: pid files, and whether a pid names a live process of
// the service's program (not a zombie, not a pid reused by another program).
#include <doctest/doctest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "root.hpp"
#include "service.hpp"
#include "spawn.hpp"

namespace fs = std::filesystem;

namespace {

struct ServiceRoot {
  std::string path;
  ServiceRoot() {
    char tmpl[] = "/tmp/quail-ut-service-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
    fs::create_directories(path + "/run");
    fs::create_directories(path + "/bin");
    // bin_dir() uses ROOT/bin once it holds queue-inject.
    std::ofstream(path + "/bin/queue-inject") << "";
    fs::create_symlink("/bin/sleep", path + "/bin/queue-send");
  }
  ~ServiceRoot() { fs::remove_all(path); }
};

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A child that is already dead and reaped: its pid names nothing (barring reuse).
pid_t dead_pid() {
  pid_t p = fork();
  REQUIRE(p >= 0);
  if (p == 0) _exit(0);
  int st;
  waitpid(p, &st, 0);
  return p;
}

void reap(pid_t p) {
  int st;
  waitpid(p, &st, 0);
}

}  // namespace

TEST_CASE("service: a pid file is written and read back") {
  ServiceRoot r;
  std::string f = quail::service_pid_file(r.path, "smtp");
  CHECK(f == r.path + "/run/smtp.pid");
  REQUIRE(quail::write_pid_file(f, 4242));
  auto pid = quail::read_pid_file(f);
  REQUIRE(pid);
  CHECK(*pid == 4242);
  REQUIRE(quail::remove_pid_file(f));
  CHECK_FALSE(fs::exists(f));
  CHECK(quail::remove_pid_file(f));  // a missing file is no error
}

TEST_CASE("service: malformed pid files are format errors, a missing one not_found") {
  ServiceRoot r;
  std::string f = r.path + "/run/x.pid";
  auto missing = quail::read_pid_file(f);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == quail::ErrorKind::not_found);
  for (const char* bad : {"", "\n", "abc\n", "12 34\n", "-5\n", "0\n", "1\n", "99999999999999999999\n"}) {
    CAPTURE(bad);
    write_text(f, bad);
    auto pid = quail::read_pid_file(f);
    REQUIRE_FALSE(pid);
    CHECK(pid.error().kind == quail::ErrorKind::format);
  }
}

TEST_CASE("service: a live process is alive, a dead or zombie one is not") {
  CHECK(quail::process_alive(getpid()));
  CHECK_FALSE(quail::process_alive(dead_pid()));
  pid_t z = fork();
  REQUIRE(z >= 0);
  if (z == 0) _exit(0);
  // Not reaped: a zombie until waitpid.
  for (int i = 0; i < 500 && quail::process_alive(z); ++i) usleep(2000);
  CHECK_FALSE(quail::process_alive(z));
  CHECK_FALSE(quail::process_is(z, "/bin/sleep"));
  reap(z);
}

TEST_CASE("service: process_is matches argv[0] exactly") {
  auto pid = quail::spawn({"/bin/sleep", "30"});
  REQUIRE(pid);
  CHECK(quail::process_is(*pid, "/bin/sleep"));
  CHECK_FALSE(quail::process_is(*pid, "/usr/bin/sleep-not"));
  CHECK_FALSE(quail::process_is(*pid, "sleep"));
  auto how = quail::stop_process(*pid, 5000);
  REQUIRE(how);
  CHECK(*how);  // SIGTERM sufficed
  reap(*pid);
}

TEST_CASE("service: status is running, stale (dead or reused pid) or stopped") {
  ServiceRoot r;
  std::string f = quail::service_pid_file(r.path, "queue-send");
  CHECK(quail::service_program(r.path, "queue-send") == r.path + "/bin/queue-send");
  CHECK(quail::service_program(r.path, "smtp") == r.path + "/bin/tcpserver");
  CHECK(quail::service_status(r.path, "queue-send").state == quail::ServiceState::stopped);

  auto pid = quail::spawn({r.path + "/bin/queue-send", "30"});
  REQUIRE(pid);
  REQUIRE(quail::write_pid_file(f, *pid));
  auto st = quail::service_status(r.path, "queue-send");
  CHECK(st.state == quail::ServiceState::running);
  CHECK(st.pid == *pid);

  // The same program started under another root's path is not this root's service.
  CHECK(quail::service_status(r.path, "smtp").state == quail::ServiceState::stopped);
  REQUIRE(quail::write_pid_file(quail::service_pid_file(r.path, "smtp"), *pid));
  CHECK(quail::service_status(r.path, "smtp").state == quail::ServiceState::stale);

  // A pid reused by another program (this test) is stale.
  REQUIRE(quail::write_pid_file(f, getpid()));
  CHECK(quail::service_status(r.path, "queue-send").state == quail::ServiceState::stale);
  // So is a dead one, and a file that holds no pid.
  REQUIRE(quail::write_pid_file(f, dead_pid()));
  CHECK(quail::service_status(r.path, "queue-send").state == quail::ServiceState::stale);
  write_text(f, "garbage\n");
  CHECK(quail::service_status(r.path, "queue-send").state == quail::ServiceState::stale);

  REQUIRE(quail::stop_process(*pid, 5000));
  reap(*pid);
}

TEST_CASE("service: a process that ignores SIGTERM is killed after the timeout") {
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  pid_t p = fork();
  REQUIRE(p >= 0);
  if (p == 0) {
    signal(SIGTERM, SIG_IGN);
    (void)!write(ready[1], "x", 1);
    for (;;) pause();
  }
  close(ready[1]);
  char c;
  REQUIRE(read(ready[0], &c, 1) == 1);  // the child ignores SIGTERM from here on
  close(ready[0]);
  auto how = quail::stop_process(p, 200);
  REQUIRE(how);
  CHECK_FALSE(*how);
  int st;
  REQUIRE(waitpid(p, &st, 0) == p);
  CHECK(WIFSIGNALED(st));
  CHECK(WTERMSIG(st) == SIGKILL);
}

TEST_CASE("service: queue-send starts first, the resident injector, mailauth, tlsd and dnsbl next, and the listeners follow") {
  const auto& names = quail::service_names();
  REQUIRE(names.size() > 5);
  CHECK(names[0] == "queue-send");
  CHECK(names[1] == "queue-inject");
  CHECK(names[2] == "mailauth");
  CHECK(names[3] == "tlsd");
  CHECK(names[4] == "dnsbl");
  CHECK_FALSE(quail::service_is_listener("queue-send"));
  CHECK_FALSE(quail::service_is_listener("queue-inject"));
  CHECK_FALSE(quail::service_is_listener("mailauth"));
  CHECK_FALSE(quail::service_is_listener("tlsd"));
  CHECK_FALSE(quail::service_is_listener("dnsbl"));
  for (size_t i = 5; i < names.size(); ++i) CHECK(quail::service_is_listener(names[i]));
  // quail up's --<service> flags are numbered 1-6 in this order.
  CHECK(quail::listener_names() ==
        std::vector<std::string>{"smtp", "submission", "smtps", "pop3", "pop3s", "lists-http"});
  CHECK(quail::service_program("/r", "queue-inject") == quail::bin_dir("/r") + "/queue-inject");
  CHECK(quail::service_program("/r", "mailauth") == quail::bin_dir("/r") + "/mailauth");
  CHECK(quail::service_program("/r", "dnsbl") == quail::bin_dir("/r") + "/dnsbl");
  CHECK(quail::service_log_file("/r", "smtp") == "/r/log/smtp.log");
}

TEST_CASE("service: supervise's state file is read back, a malformed one is a format error") {
  ServiceRoot root;
  CHECK(quail::read_service_record(root.path, "smtp").error().kind == quail::ErrorKind::not_found);
  write_text(quail::service_state_file(root.path, "smtp"), "4242 1700000000 3\n");
  auto r = quail::read_service_record(root.path, "smtp");
  REQUIRE(r.ok());
  CHECK(r.value().child == 4242);
  CHECK(r.value().since == 1700000000);
  CHECK(r.value().restarts == 3);
  write_text(quail::service_state_file(root.path, "smtp"), "0 1700000001 4\n");  // a restart pending
  CHECK(quail::read_service_record(root.path, "smtp").value().child == 0);
  for (const char* bad : {"", "4242", "4242 x 3\n", "-1 1 1\n", "4242 1\n"}) {
    CAPTURE(bad);
    write_text(quail::service_state_file(root.path, "smtp"), bad);
    CHECK(quail::read_service_record(root.path, "smtp").error().kind == quail::ErrorKind::format);
  }
  CHECK(quail::supervisor_status(root.path, "smtp").state == quail::ServiceState::stopped);
  write_text(quail::service_supervisor_pid_file(root.path, "smtp"), std::to_string(dead_pid()) + "\n");
  CHECK(quail::supervisor_status(root.path, "smtp").state == quail::ServiceState::stale);
}
