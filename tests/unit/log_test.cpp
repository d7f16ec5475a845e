// Unit tests for lib/log: logfmt quoting (spaces, quotes, =, non-printables as
// \xNN), the cap on long values, one line per event, and the syslog fallback when
// the log fd is the peer's socket (inetd) but never when it is a log file or pipe.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fcntl.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>
#include <vector>

#include "log.hpp"

using quail::log_quote;

TEST_CASE("log: plain values are written as they are") {
  CHECK(log_quote("plain") == "plain");
  CHECK(log_quote("<bob@example.test>") == "<bob@example.test>");
  CHECK(log_quote("4.3.0") == "4.3.0");
  CHECK(log_quote("a,b;c:d/e") == "a,b;c:d/e");
}

TEST_CASE("log: values with spaces, quotes, = or backslashes are quoted and escaped") {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"", "\"\""},
      {"a b", "\"a b\""},
      {"a=b", "\"a=b\""},
      {"say \"hi\"", "\"say \\\"hi\\\"\""},
      {"a\"b", "\"a\\\"b\""},
      {"back\\slash", "\"back\\\\slash\""},
      {"unable to open x: No such file", "\"unable to open x: No such file\""},
  };
  for (const auto& c : cases) {
    std::string in(c.in);
    CAPTURE(in);
    CHECK(log_quote(in) == c.out);
  }
}

TEST_CASE("log: non-printable bytes become \\xNN so a value cannot forge a line") {
  CHECK(log_quote("a\nprog=evil") == "\"a\\x0aprog=evil\"");
  CHECK(log_quote("cr\r") == "\"cr\\x0d\"");
  CHECK(log_quote("tab\t") == "\"tab\\x09\"");
  CHECK(log_quote(std::string("nul\0", 4)) == "\"nul\\x00\"");
  CHECK(log_quote("\x7f") == "\"\\x7f\"");
  CHECK(log_quote("jos\xc3\xa9") == "\"jos\\xc3\\xa9\"");
  CHECK(log_quote("\x1b[31m") == "\"\\x1b[31m\"");
}

TEST_CASE("log: long values are capped at 400 bytes and marked") {
  std::string v400(400, 'v');
  CHECK(log_quote(v400) == v400);
  std::string v5000(5000, 'v');
  CHECK(log_quote(v5000) == "\"" + v400 + "...\"");
  // The cap counts input bytes; escapes may make the output longer but bounded.
  std::string ctl(5000, '\n');
  CHECK(log_quote(ctl).size() == 400 * 4 + 3 + 2);
}

namespace {

// What the log functions called by body wrote, with our program named program.
template <typename F>
std::string logged_as(const char* program, F body) {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  quail::log_set_program(program);
  quail::log_set_fd(p[1]);
  body();
  quail::log_set_fd(2);
  quail::log_set_program("quail");
  ::close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  return out;
}

}  // namespace

TEST_CASE("log: an event is one line: prog, level, then the fields in order") {
  std::string out = logged_as("unit-test", [] {
    quail::log_info({{"event", "queued"}, {"msg", 12345}, {"to", "<a b@c>"}});
    quail::log_warn({{"event", "x"}, {"reason", "line\nbreak"}});
    quail::log_error({{"event", "y"}});
  });
  CHECK(out ==
        "prog=unit-test level=info event=queued msg=12345 to=\"<a b@c>\"\n"
        "prog=unit-test level=warn event=x reason=\"line\\x0abreak\"\n"
        "prog=unit-test level=error event=y\n");
}

TEST_CASE("log: LogAs names another program while it lives, then ours again, on the same fd") {
  std::string out = logged_as("smtpd", [] {
    quail::log_info({{"event", "a"}});
    {
      quail::LogAs as("queue-inject");
      quail::log_info({{"event", "queued"}});
    }
    quail::log_info({{"event", "b"}});
  });
  CHECK(out ==
        "prog=smtpd level=info event=a\n"
        "prog=queue-inject level=info event=queued\n"
        "prog=smtpd level=info event=b\n");
}

namespace {

using quail::LogSink;
using quail::log_sink_for;

std::string drain(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

struct Pair {
  int a = -1, b = -1;
  Pair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, &a) == 0); }
  ~Pair() {
    ::close(a);
    ::close(b);
  }
};

std::vector<std::pair<int, std::string>> g_syslogged;
void capture_syslog(int priority, std::string_view line) { g_syslogged.emplace_back(priority, std::string(line)); }

}  // namespace

TEST_CASE("log sink: fd 2 shared with fd 0 or fd 1 as a socket (inetd) goes to syslog") {
  Pair s;
  int null = ::open("/dev/null", O_RDWR);
  REQUIRE(null >= 0);
  int dup = ::dup(s.a);
  CHECK(log_sink_for(s.a, s.a, s.a) == LogSink::syslog);
  CHECK(log_sink_for(dup, s.a, null) == LogSink::syslog);
  CHECK(log_sink_for(dup, null, s.a) == LogSink::syslog);
  ::close(dup);
  ::close(null);
}

TEST_CASE("log sink: tcpserver's children (fd 0/1 a socket, fd 2 a log file or pipe) keep fd 2") {
  Pair s;
  char path[] = "/tmp/quail-log-test-XXXXXX";
  int file = ::mkstemp(path);
  REQUIRE(file >= 0);
  ::unlink(path);
  int p[2];
  REQUIRE(::pipe(p) == 0);
  CHECK(log_sink_for(file, s.a, s.a) == LogSink::fd);
  CHECK(log_sink_for(p[1], s.a, s.a) == LogSink::fd);
  ::close(file);
  ::close(p[0]);
  ::close(p[1]);
}

TEST_CASE("log sink: a local socket not shared with fd 0/1 is a log collector's; a network one is a peer") {
  Pair collector, conn;
  CHECK(log_sink_for(collector.a, conn.a, conn.a) == LogSink::fd);
  int in4 = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(in4 >= 0);
  CHECK(log_sink_for(in4, conn.a, conn.a) == LogSink::syslog);
  ::close(in4);
  int in6 = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (in6 >= 0) {  // no IPv6 in some containers
    CHECK(log_sink_for(in6, conn.a, conn.a) == LogSink::syslog);
    ::close(in6);
  }
}

TEST_CASE("log sink: a closed or negative fd is not a socket") {
  Pair s;
  int fd = ::dup(s.a);
  ::close(fd);
  CHECK(log_sink_for(fd, s.a, s.a) == LogSink::fd);
  CHECK(log_sink_for(-1, s.a, s.a) == LogSink::fd);
}

TEST_CASE("log sink: levels map to syslog priorities") {
  CHECK(quail::log_syslog_priority("info") == LOG_INFO);
  CHECK(quail::log_syslog_priority("warn") == LOG_WARNING);
  CHECK(quail::log_syslog_priority("error") == LOG_ERR);
  CHECK(quail::log_syslog_priority("debug") == LOG_DEBUG);
}

TEST_CASE("log sink: a line for a client's TCP socket goes to syslog, never to the client") {
  int lst = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(lst >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(lst, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(lst, 1) == 0);
  REQUIRE(::getsockname(lst, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  int client = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  int server = ::accept(lst, nullptr, nullptr);
  REQUIRE(server >= 0);

  g_syslogged.clear();
  quail::log_set_syslog_writer(capture_syslog);
  quail::log_set_program("unit-test");
  quail::log_set_fd(server);
  errno = EACCES;
  quail::log_warn({{"event", "x"}, {"reason", "a b"}});
  CHECK(errno == EACCES);
  quail::log_error({{"event", "y"}});
  quail::log_set_fd(2);
  quail::log_set_program("quail");
  quail::log_set_syslog_writer(nullptr);

  REQUIRE(g_syslogged.size() == 2);
  CHECK(g_syslogged[0].first == LOG_WARNING);
  CHECK(g_syslogged[0].second == "prog=unit-test level=warn event=x reason=\"a b\"");
  CHECK(g_syslogged[1].first == LOG_ERR);
  CHECK(g_syslogged[1].second == "prog=unit-test level=error event=y");
  ::fcntl(client, F_SETFL, O_NONBLOCK);
  char c;
  CHECK(::read(client, &c, 1) < 0);  // nothing reached the client
  ::close(client);
  ::close(server);
  ::close(lst);
}

// The whole path with the real fds 0-2, in a child so the test's own fd 2 stays.
// The child reports what syslog got on `report`; returns what reached `peer`.
static std::string run_child(int in, int out, int err, int report, int peer) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(1);
    static int report_fd;
    report_fd = report;
    quail::log_set_syslog_writer([](int, std::string_view line) { (void)::write(report_fd, line.data(), line.size()); });
    quail::log_set_program("child");
    quail::log_set_fd(2);
    quail::log_info({{"event", "connect"}});
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  ::fcntl(peer, F_SETFL, O_NONBLOCK);
  return drain(peer);
}

TEST_CASE("log sink: inetd (fds 0-2 one socket) logs to syslog; tcpserver (fd 2 a pipe) to fd 2") {
  int rep[2];
  REQUIRE(::pipe(rep) == 0);
  {
    Pair s;
    CHECK(run_child(s.a, s.a, s.a, rep[1], s.b) == "");
    ::fcntl(rep[0], F_SETFL, O_NONBLOCK);
    CHECK(drain(rep[0]) == "prog=child level=info event=connect");
  }
  {
    Pair s;
    int logp[2];
    REQUIRE(::pipe(logp) == 0);
    CHECK(run_child(s.a, s.a, logp[1], rep[1], s.b) == "");
    ::close(logp[1]);
    CHECK(drain(logp[0]) == "prog=child level=info event=connect\n");
    ::close(logp[0]);
    CHECK(drain(rep[0]) == "");
  }
  ::close(rep[0]);
  ::close(rep[1]);
}

TEST_CASE("log: ts= is UTC computed without the C library's time zones") {
  CHECK(quail::log_utc_timestamp(0, 0) == "1970-01-01T00:00:00.000000Z");
  CHECK(quail::log_utc_timestamp(951782400, 5) == "2000-02-29T00:00:00.000005Z");  // a leap day
  CHECK(quail::log_utc_timestamp(1795885917, 189332) == "2026-11-28T17:11:57.189332Z");
  CHECK(quail::log_utc_timestamp(4107542399, 999999) == "2100-02-28T23:59:59.999999Z");  // 2100 is no leap year
  CHECK(quail::log_utc_timestamp(4107542400, 0) == "2100-03-01T00:00:00.000000Z");
  CHECK(quail::log_utc_timestamp(-1, 0) == "1969-12-31T23:59:59.000000Z");
  // Every day of four centuries agrees with gmtime_r.
  for (int64_t t = -2208988800; t < 10413792000; t += 86400 - 7) {
    time_t tt = static_cast<time_t>(t);
    struct tm tm;
    REQUIRE(gmtime_r(&tt, &tm));
    char want[64];
    std::snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.000000Z", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    REQUIRE(quail::log_utc_timestamp(t, 0) == want);
  }
}

TEST_CASE("log: a syslog record is LOG_MAIL, ident[pid], the line, and no timestamp") {
  CHECK(quail::log_syslog_record(LOG_INFO, "smtpd", 42, "prog=smtpd level=info event=x") ==
        "<22>smtpd[42]: prog=smtpd level=info event=x");
  CHECK(quail::log_syslog_record(LOG_ERR, "pop3d", 7, "") == "<19>pop3d[7]: ");
}

TEST_CASE("log: a person at a terminal gets the reason as a sentence, and nothing for routine events") {
  CHECK(quail::log_sentence("sendmail", "error", {{"event", "refused"}, {"reason", "bad address: a@@b"}}) ==
        "sendmail: bad address: a@@b\n");
  CHECK(quail::log_sentence("sendmail", "warn", {{"event", "run_queue"}, {"result", "pending"}}) ==
        "sendmail: pending\n");
  CHECK(quail::log_sentence("mailq", "error", {{"event", "list"}}) == "mailq: list\n");
  CHECK(quail::log_sentence("sendmail", "info", {{"event", "submitted"}, {"from", "<a@b.test>"}}).empty());
  // A control byte in a reason cannot move the terminal's cursor or forge a line.
  CHECK(quail::log_sentence("inject", "error", {{"reason", "x\x1b[2J\ny"}}) == "inject: x?[2J?y\n");
}
