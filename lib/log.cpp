// logfmt lines: see log.hpp and man/quail-log.5. Trusts its callers to pass no
// secrets; trusts nothing about the values, which are escaped.
#include "log.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>
#include <utility>

#include "date.hpp"
#include "fd.hpp"

namespace quail {
namespace {
std::string g_program = "quail";
int g_fd = 2;
bool g_timestamps = false;
enum class Decided { not_yet, fd, syslog };
Decided g_sink = Decided::not_yet;
int g_syslog_fd = -1;
bool g_syslog_stream = false;
LogSyslogWriter g_syslog_writer = nullptr;
bool g_person = false;          // log_set_person: a terminal gets sentences
int g_person_tty = -1;          // -1: not decided yet
constexpr size_t max_value = 400;

void close_syslog() {
  if (g_syslog_fd >= 0) ::close(g_syslog_fd);
  g_syslog_fd = -1;
}

bool same_file(int a, int b) {
  struct stat sa, sb;
  return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// /dev/log, as syslog(3) finds it: a datagram socket, else a stream one.
void connect_syslog() {
  struct sockaddr_un a {};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, "/dev/log");
  for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
    int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    if (::connect(fd, reinterpret_cast<struct sockaddr*>(&a), sizeof a) == 0) {
      g_syslog_fd = fd;
      g_syslog_stream = type == SOCK_STREAM;
      return;
    }
    ::close(fd);
  }
}

// Not syslog(3): glibc stamps each record with the local time, and local time
// links its time-zone code (tzfile, sscanf, strtod: ~110 KiB) into every static
// program. Syslog daemons stamp what they receive (rsyslog and journald ignore a
// local client's stamp anyway), so the record goes without one.
void write_syslog(std::string_view level, const std::string& line) {
  int priority = log_syslog_priority(level);
  if (g_syslog_writer) return g_syslog_writer(priority, line);
  std::string record = log_syslog_record(priority, g_program, ::getpid(), line);
  // A restarted syslog daemon: reconnect once, as syslog(3) does.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (g_syslog_fd < 0) connect_syslog();
    if (g_syslog_fd < 0) return;
    size_t len = record.size() + (g_syslog_stream ? 1 : 0);  // a stream record ends in its NUL
    if (::send(g_syslog_fd, record.c_str(), len, MSG_NOSIGNAL) == static_cast<ssize_t>(len)) return;
    close_syslog();
  }
}

}  // namespace

void log_set_program(std::string_view name) {
  if (name == g_program) return;
  close_syslog();
  g_program = name;
  g_sink = Decided::not_yet;
}

LogAs::LogAs(std::string_view name) : saved_(std::exchange(g_program, std::string(name))) {}
LogAs::~LogAs() { g_program = std::move(saved_); }

void log_set_timestamps(bool on) { g_timestamps = on; }

void log_set_fd(int fd) {
  g_fd = fd;
  g_sink = Decided::not_yet;
}

void log_set_syslog_writer(LogSyslogWriter writer) { g_syslog_writer = writer; }

LogSink log_sink_for(int err, int in, int out) {
  struct stat st;
  if (err < 0 || ::fstat(err, &st) != 0 || !S_ISSOCK(st.st_mode)) return LogSink::fd;
  if (same_file(err, in) || same_file(err, out)) return LogSink::syslog;
  // Not shared with fd 0/1: a network socket is still a peer (a launcher that
  // dup'ed the connection differently); a local one is a log collector's (journald).
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(err, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return LogSink::fd;
  return addr.ss_family == AF_INET || addr.ss_family == AF_INET6 ? LogSink::syslog : LogSink::fd;
}

int log_syslog_priority(std::string_view level) {
  if (level == "error") return LOG_ERR;
  if (level == "warn") return LOG_WARNING;
  if (level == "debug") return LOG_DEBUG;
  return LOG_INFO;
}

std::string log_quote(std::string_view v) {
  bool truncated = v.size() > max_value;
  if (truncated) v = v.substr(0, max_value);
  bool quote = v.empty() || truncated;
  std::string body;
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      body += '\\';
      body += static_cast<char>(c);
      quote = true;
    } else if (c < 0x20 || c >= 0x7f) {
      static const char hex[] = "0123456789abcdef";
      body += "\\x";
      body += hex[c >> 4];
      body += hex[c & 15];
      quote = true;
    } else {
      if (c == ' ' || c == '=') quote = true;
      body += static_cast<char>(c);
    }
  }
  if (truncated) body += "...";
  return quote ? "\"" + body + "\"" : body;
}

std::string log_utc_timestamp(int64_t seconds, long micros) {
  UtcTime u = utc_time(seconds);
  char ts[64];
  std::snprintf(ts, sizeof ts, "%04lld-%02u-%02uT%02u:%02u:%02u.%06ldZ", static_cast<long long>(u.year), u.month, u.day,
                u.hour, u.minute, u.second, micros);
  return ts;
}

std::string log_syslog_record(int priority, std::string_view ident, long pid, std::string_view line) {
  std::string r = "<" + std::to_string(LOG_MAIL | priority) + ">";
  r += ident;
  r += "[" + std::to_string(pid) + "]: ";
  r += line;
  return r;
}

void log_set_person(bool on) { g_person = on; }

std::string log_sentence(std::string_view program, std::string_view level, std::initializer_list<LogField> fields) {
  if (level == "info" || level == "debug") return "";
  std::string_view what, event;
  for (const auto& f : fields) {
    if (f.key == "reason" && what.empty()) what = f.value;
    if (f.key == "event") event = f.value;
  }
  if (what.empty()) {
    for (const auto& f : fields) {
      if (f.key == "result") what = f.value;
    }
  }
  if (what.empty()) what = event;
  std::string v(what.substr(0, max_value));
  for (char& c : v) {
    if (static_cast<unsigned char>(c) < 32 || c == 127) c = '?';
  }
  return std::string(program) + ": " + v + "\n";
}

void log_event(std::string_view level, std::initializer_list<LogField> fields) {
  // A caller may log and then read errno for its own error path.
  int saved_errno = errno;
  if (g_person && g_person_tty < 0) {
    const char* v = std::getenv("QUAIL_LOG");
    g_person_tty = ::isatty(g_fd) == 1 && !(v && std::string_view(v) == "logfmt");
  }
  if (g_person && g_person_tty == 1) {
    // A person at a terminal: a sentence for trouble, nothing for routine events.
    std::string sentence = log_sentence(g_program, level, fields);
    if (!sentence.empty()) write_all(g_fd, sentence);
    errno = saved_errno;
    return;
  }
  if (g_sink == Decided::not_yet)
    g_sink = log_sink_for(g_fd) == LogSink::syslog ? Decided::syslog : Decided::fd;
  std::string line = "prog=" + g_program + " level=" + std::string(level);
  if (g_timestamps && g_sink != Decided::syslog) {
    // Files written by quail up have no other clock: ts= is what an administrator sorts by.
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    line += " ts=";
    line += log_utc_timestamp(now.tv_sec, now.tv_nsec / 1000);
  }
  for (const auto& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    line += log_quote(f.value);
  }
  if (g_sink == Decided::syslog) {
    write_syslog(level, line);
  } else {
    line += '\n';
    write_all(g_fd, line);
  }
  errno = saved_errno;
}

}  // namespace quail
