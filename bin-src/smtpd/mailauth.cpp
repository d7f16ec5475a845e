// smtpd <-> mailauth: see mailauth.hpp; the frames' fields are in man/mailauth.8.
#include "mailauth.hpp"

#include <cerrno>
#include <csignal>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.hpp"
#include "log.hpp"
#include "mailauth_wire.hpp"
#include "root.hpp"
#include "session.hpp"
#include "spawn.hpp"
#include "unix_connect.hpp"

namespace quail::smtpd {
namespace {

// SPF allows a check 20 s at least (RFC 7208 4.6.4); DKIM keys and DMARC need a few lookups more.
constexpr int spf_timeout_ms = 30000;
constexpr int message_timeout_ms = 60000;

class FdSink : public MessageSink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  bool write(std::string_view bytes) override {
    while (!bytes.empty()) {
      ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

 private:
  int fd_;
};

int reply_code(const std::string& s) {
  int v = 0;
  for (char c : s) v = (c >= '0' && c <= '9' && v < 1000) ? v * 10 + (c - '0') : 1000;
  return v >= 400 && v < 600 ? v : 0;
}

// "off,len off,len" (ascending) into pairs; malformed parts are ignored.
std::vector<std::pair<off_t, size_t>> parse_drops(const std::string& s) {
  std::vector<std::pair<off_t, size_t>> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t sp = s.find(' ', pos);
    std::string part = s.substr(pos, sp == std::string::npos ? std::string::npos : sp - pos);
    pos = sp == std::string::npos ? s.size() : sp + 1;
    size_t comma = part.find(',');
    if (comma == std::string::npos) continue;
    try {
      out.emplace_back(static_cast<off_t>(std::stoull(part.substr(0, comma))), std::stoull(part.substr(comma + 1)));
    } catch (const std::exception&) {
    }
  }
  return out;
}

}  // namespace

MailAuth::~MailAuth() {
  sock_.reset();  // mailauth ends at EOF
  if (pid_ > 0) (void)wait_for(pid_);
}

// The resident helper (mailauth -d): a connect that never waits (no helper, a
// full backlog, a socket we may not use all mean the exec), then the hello with
// our stderr, where the helper's log lines go as an exec'd one's do.
bool MailAuth::connect_resident() {
  Fd sock = connect_unix_now(mailauth::socket_path(s_.root));
  if (!sock.valid() || !mailauth::send_frame(sock.get(), {"session", s_.sid}, 2)) return false;
  sock_ = std::move(sock);
  resident_ = true;
  return true;
}

Result<std::vector<std::string>> MailAuth::ask(const std::vector<std::string>& req, int timeout_ms, int fd) {
  if (!mailauth::send_frame(sock_.get(), req, fd)) return Error{ErrorKind::not_found, "unable to write to mailauth"};
  return mailauth::read_frame(sock_.get(), timeout_ms);
}

bool MailAuth::spawn_helper() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return false;
  Fd theirs(sv[1]);
  sock_ = Fd(sv[0]);
  auto pid = spawn({bin_dir(s_.root) + "/mailauth", s_.sid}, {.fd_map = {{0, theirs.get()}, {1, theirs.get()}}});
  if (!pid) {
    log_warn({{"sid", s_.sid}, {"event", "mailauth"}, {"result", "fail"}, {"reason", pid.error().reason}});
    sock_.reset();
    return false;
  }
  pid_ = *pid;
  return true;
}

void MailAuth::stop(const std::string& why) {
  log_warn({{"sid", s_.sid}, {"event", "mailauth"}, {"result", "fail"}, {"reason", why}});
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    (void)wait_for(pid_);
  }
  pid_ = -1;
  sock_.reset();
  enabled_ = 0;  // the rest of the session goes unchecked
}

bool MailAuth::refuse_sender(bool relay, const std::string& helo, const std::string& sender, Refusal& out) {
  checking_ = false;
  spf_pass_ = false;
  spool_fd_.reset();
  if (relay) return false;
  if (enabled_ < 0) {
    auto v = s_.control.integer("authcheck");
    if (!v) log_error({{"sid", s_.sid}, {"event", "config"}, {"reason", v.error().reason}});
    enabled_ = v && *v != 0 && (connect_resident() || spawn_helper()) ? 1 : 0;
  }
  if (enabled_ != 1) return false;
  const std::vector<std::string> req = {"spf", s_.remote_ip, helo, sender};
  auto a = ask(req, spf_timeout_ms);
  if (!a && a.error().kind == ErrorKind::not_found && resident_ && !answered_) {
    // A resident helper gone before its first answer (stopped, crashed, out of
    // processes) costs the session nothing: an exec'd one takes the question.
    log_info({{"sid", s_.sid}, {"event", "mailauth"}, {"result", "retry"}, {"reason", a.error().reason}});
    sock_.reset();
    resident_ = false;
    a = spawn_helper() ? ask(req, spf_timeout_ms) : Error{ErrorKind::temporary, "unable to start mailauth"};
  }
  if (!a || a->size() != 7) {
    stop(a ? "malformed answer" : a.error().reason);
    return false;
  }
  answered_ = true;
  const auto& f = *a;
  log_info({{"sid", s_.sid}, {"event", "spf"}, {"result", f[4]}, {"domain", f[5]}, {"detail", f[6]},
            {"from", "<" + sender + ">"}, {"action", f[0]}});
  spf_pass_ = f[4] == "pass";
  int code = reply_code(f[1]);
  if (f[0] != "accept" && code) {
    reply_enhanced_ = f[2];
    out = Refusal{code, reply_enhanced_, f[3]};
    return true;
  }
  int fd = ::memfd_create("quail-message", MFD_CLOEXEC);
  if (fd < 0) return false;  // no spool: this message goes unchecked
  spool_fd_ = Fd(fd);
  sink_ = std::make_unique<FdSink>(fd);
  checking_ = true;
  return false;
}

MessageSink& MailAuth::spool() {
  return *sink_;
}

bool MailAuth::deliver(bool received, MessageSink& out, std::optional<Refusal>& refusal) {
  checking_ = false;
  Fd spool = std::move(spool_fd_);
  if (!received) return false;
  std::vector<std::string> f;
  if (sock_.valid()) {
    auto a = ask({"msg"}, message_timeout_ms, spool.get());
    if (a && a->size() == 10) f = std::move(*a);
    else stop(a ? "malformed answer" : a.error().reason);
  } else {
    stop("unable to write to mailauth");
  }
  std::string prepend;
  std::vector<std::pair<off_t, size_t>> drops;
  if (!f.empty()) {
    log_info({{"sid", s_.sid}, {"event", "dmarc"}, {"result", f[6]}, {"domain", f[7]}, {"policy", f[8]},
              {"disposition", f[9]}, {"action", f[0]}});
    if (int code = reply_code(f[1]); f[0] != "accept" && code) {
      reply_enhanced_ = f[2];
      refusal = Refusal{code, reply_enhanced_, f[3]};
      return false;
    }
    prepend = f[4];
    drops = parse_drops(f[5]);
  }
  if (!prepend.empty() && !out.write(prepend)) return false;
  char buf[65536];
  off_t off = 0;
  size_t next = 0;
  for (;;) {
    while (next < drops.size() && off >= drops[next].first + static_cast<off_t>(drops[next].second)) ++next;
    size_t want = sizeof buf;
    if (next < drops.size()) {
      if (off >= drops[next].first) {
        off = drops[next].first + static_cast<off_t>(drops[next].second);
        continue;
      }
      want = std::min(want, static_cast<size_t>(drops[next].first - off));
    }
    ssize_t n = ::pread(spool.get(), buf, want, off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    if (!out.write(std::string_view(buf, static_cast<size_t>(n)))) return false;
    off += n;
  }
}

}  // namespace quail::smtpd
