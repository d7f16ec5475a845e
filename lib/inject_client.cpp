// Running queue-inject (or its QUEUE_PROGRAM filter): see inject_client.hpp.
// The session framing is lib/inject_frame's; man/queue-inject.8 documents both protocols.
#include "inject_client.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd_passing.hpp"
#include "inject_local.hpp"
#include "inject_frame.hpp"
#include "root.hpp"
#include "spawn.hpp"
#include "unix_connect.hpp"

extern char** environ;

namespace quail {
namespace {

// The queue program finds its root in the environment: hand it ours, whatever
// the caller's environment says. QUAIL_NOTICE is never inherited: only the
// caller that queues a notice sets it (inject_message's extra_env).
SpawnOptions queue_spawn_options(const std::string& root) {
  SpawnOptions opt;
  opt.set_env = true;
  for (char** e = environ; *e; ++e) {
    std::string_view v(*e);
    if (v.rfind("QUAIL_ROOT=", 0) != 0 && v.rfind("QUAIL_NOTICE=", 0) != 0) opt.env.emplace_back(*e);
  }
  opt.env.push_back("QUAIL_ROOT=" + root);
  return opt;
}

// Room before the message octets in InjectSession's buffer for a "D<n>\n" header,
// so a frame goes out in one write without copying the octets.
constexpr size_t gap = frame::max_header;
// Message octets are framed and written once this many are buffered: a small
// message and its envelope go out in one write, a large one streams.
constexpr size_t flush_at = 64 << 10;

}  // namespace

std::string inject_socket_path(const std::string& root) { return root + "/run/queue-inject.sock"; }

std::string queue_program(const std::string& root) {
  const char* p = std::getenv("QUEUE_PROGRAM");
  if (p && *p) return p;
  return bin_dir(root) + "/queue-inject";
}

Result<qq::Outcome> inject_message(const std::string& root, const std::function<bool(int)>& write_message,
                                   const Envelope& env, int* exit_code, const std::vector<std::string>& extra_env) {
  int mp[2], ep[2], cp[2];
  if (::pipe2(mp, O_CLOEXEC) != 0) return sys_error(ErrorKind::temporary, "create pipe");
  Fd m_read(mp[0]), m_write(mp[1]);
  if (::pipe2(ep, O_CLOEXEC) != 0) return sys_error(ErrorKind::temporary, "create pipe");
  Fd e_read(ep[0]), e_write(ep[1]);
  // fd 6 carries notqmail's custom error text (exit 82).
  if (::pipe2(cp, O_CLOEXEC) != 0) return sys_error(ErrorKind::temporary, "create pipe");
  Fd c_read(cp[0]), c_write(cp[1]);

  SpawnOptions opt = queue_spawn_options(root);
  opt.env.insert(opt.env.end(), extra_env.begin(), extra_env.end());
  opt.fd_map = {{0, m_read.get()}, {1, e_read.get()}, {6, c_write.get()}};
  auto pid = spawn({queue_program(root)}, opt);
  if (!pid) return pid.error();
  m_read.reset();
  e_read.reset();
  c_write.reset();

  // A queue program that dies early closes its pipes: our writes then fail with
  // EPIPE (SIGPIPE is ignored by every quail program) and its exit code tells why.
  bool wrote = write_message(m_write.get());
  m_write.reset();
  if (wrote) write_all(e_write.get(), serialize_envelope(env));
  e_write.reset();
  std::string custom;
  read_all(c_read.get(), custom, 4096);
  auto st = wait_for(*pid);
  if (!st) return st.error();
  if (exit_code) *exit_code = st->signaled ? -1 : st->code;
  if (!wrote && st->ok()) return qq::Outcome{false, "unable to write the message to the queue (#4.3.0)"};
  return qq::describe(st->code, st->signaled, custom);
}

// ---------------------------------------------------------------- InjectSession

class InjectSession::Frames : public MessageSink {
 public:
  explicit Frames(InjectSession& s) : s_(s) {}
  bool write(std::string_view bytes) override { return s_.add_data(bytes); }

 private:
  InjectSession& s_;
};

// Octets for queue-inject's code in our process. After a failure the rest of the
// message is dropped here, as queue-inject -s reads and drops the frames of a
// message that failed: the caller learns the outcome at the end, in both.
class InjectSession::Here : public MessageSink {
 public:
  Here(LocalInjector& to, int first) : to_(to), code_(first) {}
  bool write(std::string_view bytes) override {
    if (code_ == 0) code_ = to_.append(bytes);
    return true;
  }
  int code() const { return code_; }

 private:
  LocalInjector& to_;
  int code_;
};

class FdSink : public MessageSink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  bool write(std::string_view bytes) override { return write_all(fd_, bytes); }

 private:
  int fd_;
};

// A session with queue-inject -d: connect (never waiting: a full backlog, a
// stopped or absent injector, a socket we may not use all mean the exec), then
// pass our stderr with the first byte so its log lines go to our log, as an
// exec'd queue-inject's do (man/queue-inject.8, "Resident mode").
bool InjectSession::connect_resident() {
  Fd sock = connect_unix_now(inject_socket_path(root_));
  if (!sock.valid()) return false;
  // MSG_NOSIGNAL: an injector gone between connect and send is a refusal, not a signal.
  if (send_with_fd(sock.get(), std::string_view("\0", 1), 2, MSG_NOSIGNAL) != 1) return false;
  Fd other(::fcntl(sock.get(), F_DUPFD_CLOEXEC, 3));
  if (!other.valid()) return false;
  to_ = std::move(sock);
  from_ = std::move(other);
  resident_ = true;
  return true;
}

Status InjectSession::start() {
  if (resident_) {
    // Its process ends after a day idle (or was stopped): readable now means EOF.
    pollfd p{from_.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) == 0) return {};
    close();
  }
  if (pid_ > 0) {
    // One that ended between messages (its idle alarm) is replaced now rather
    // than failing the message we are about to send.
    int w;
    if (::waitpid(pid_, &w, WNOHANG) == 0) return {};
    pid_ = 0;
    to_.reset();
    from_.reset();
  }
  if (connect_resident()) return {};
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return sys_error(ErrorKind::temporary, "create pipe");
  Fd in_read(in[0]), in_write(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return sys_error(ErrorKind::temporary, "create pipe");
  Fd out_read(out[0]), out_write(out[1]);
  SpawnOptions opt = queue_spawn_options(root_);
  opt.fd_map = {{0, in_read.get()}, {1, out_write.get()}};
  auto pid = spawn({bin_dir(root_) + "/queue-inject", "-s"}, opt);
  if (!pid) return pid.error();
  pid_ = *pid;
  to_ = std::move(in_write);
  from_ = std::move(out_read);
  return {};
}

void InjectSession::close() {
  if (resident_) {
    to_.reset();  // EOF between messages: the session's process exits
    from_.reset();
    resident_ = false;
    return;
  }
  if (pid_ <= 0) return;
  to_.reset();  // EOF between messages: queue-inject exits 0
  from_.reset();
  (void)wait_for(pid_);
  pid_ = 0;
}

bool InjectSession::flush_data() {
  size_t n = buf_.size() - gap;
  if (n == 0 || broken_) return !broken_;
  std::string h = frame::data_header(n);
  buf_.replace(gap - h.size(), h.size(), h);
  if (!write_all(to_.get(), std::string_view(buf_).substr(gap - h.size()))) broken_ = true;
  buf_.resize(gap);
  return !broken_;
}

bool InjectSession::add_data(std::string_view bytes) {
  while (!bytes.empty() && !broken_) {
    size_t take = std::min(bytes.size(), flush_at - (buf_.size() - gap));
    buf_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (buf_.size() - gap >= flush_at) flush_data();
  }
  return !broken_;
}

// Writes the buffered octets (as one D frame) and tail (the E or A frame) in one write.
bool InjectSession::send_tail(std::string_view tail) {
  size_t from = gap;
  if (buf_.size() > gap) {
    std::string h = frame::data_header(buf_.size() - gap);
    from = gap - h.size();
    buf_.replace(from, h.size(), h);
  }
  buf_.append(tail);
  if (!broken_ && !write_all(to_.get(), std::string_view(buf_).substr(from))) broken_ = true;
  buf_.resize(gap);
  return !broken_;
}

// The message got no answer: the process died (killed, crashed, or it ended the
// session). Whatever its exit code, this message is not queued: a temporary failure.
qq::Outcome InjectSession::lost(int* exit_code) {
  to_.reset();
  from_.reset();
  if (exit_code) *exit_code = -1;
  if (resident_) {
    resident_ = false;
    return {false, "queue program ended without an answer (#4.3.0)"};
  }
  auto st = wait_for(pid_);
  pid_ = 0;
  if (st && !st->signaled && st->code != 0) {
    qq::Outcome o = qq::describe(st->code);
    o.permanent = false;
    return o;
  }
  if (st && st->signaled) return qq::describe(0, true);
  return {false, "queue program ended without an answer (#4.3.0)"};
}

qq::Outcome InjectSession::answer(int* exit_code) {
  // queue-inject writes each answer in one write and nothing more before our next
  // message, so one read normally brings the whole line; a byte after its LF is out of step.
  char buf[frame::max_answer];
  size_t have = 0;
  const char* lf = nullptr;
  while (!lf && have < sizeof buf) {
    ssize_t n = ::read(from_.get(), buf + have, sizeof buf - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return lost(exit_code);
    lf = static_cast<const char*>(std::memchr(buf + have, '\n', static_cast<size_t>(n)));
    have += static_cast<size_t>(n);
  }
  Result<frame::Answer> a = Error{ErrorKind::format, "answer"};
  if (lf && lf + 1 == buf + have) a = frame::parse_answer(std::string_view(buf, static_cast<size_t>(lf - buf)));
  if (!a) {
    close();  // out of step: this one is ended, the next message starts a new one
    if (exit_code) *exit_code = -1;
    return qq::Outcome{false, "malformed answer from the queue program (#4.3.0)"};
  }
  if (exit_code) *exit_code = a->code;
  return qq::describe(a->code, false, a->text);
}

Result<qq::Outcome> InjectSession::inject(const std::function<bool(MessageSink&)>& write_message, const Envelope& env,
                                          int* exit_code) {
  if (const char* qp = std::getenv("QUEUE_PROGRAM"); qp && *qp) {
    return inject_message(root_, [&](int fd) {
      FdSink sink(fd);
      return write_message(sink);
    }, env, exit_code);
  }
  if (local_ || local_injector_allowed(root_)) return inject_here(write_message, env, exit_code);
  if (exit_code) *exit_code = -1;
  if (auto s = start(); !s) return s.error();
  broken_ = false;
  buf_.assign(gap, ' ');
  Frames frames(*this);
  const bool wrote = write_message(frames);
  if (wrote && !broken_) {
    std::string env_bytes = serialize_envelope(env);
    send_tail(frame::end_header(env_bytes.size()) + env_bytes);
  } else if (!broken_) {
    buf_.resize(gap);  // octets of a message given up need not travel
    send_tail(frame::abort_frame);
  }
  // After a failed write the process is gone or going: its exit status is all
  // there is. Otherwise it answers this message (an abort too: we stay in step).
  int code = -1;
  qq::Outcome outcome = broken_ ? lost(&code) : answer(&code);
  if (buf_.capacity() > 2 * flush_at) buf_ = std::string();
  if (exit_code) *exit_code = code;
  if (!wrote && code == 0) return qq::Outcome{false, "unable to write the message to the queue (#4.3.0)"};
  return outcome;
}

// A single-user instance: queue-inject's own code, here (inject_local.hpp); the
// codes and texts are those queue-inject -s would have answered.
Result<qq::Outcome> InjectSession::inject_here(const std::function<bool(MessageSink&)>& write_message,
                                               const Envelope& env, int* exit_code) {
  if (!local_) local_ = make_local_injector(root_, control_);
  Here sink(*local_, local_->begin());
  const bool wrote = write_message(sink);
  int code = sink.code();
  std::string text = "aborted";
  if (wrote) {
    code = code == 0 ? local_->finish(serialize_envelope(env)) : code;
    text = local_->answer_text();
  } else if (code == 0) {
    local_->abort();
    code = qq::envelope_format;
  }
  if (exit_code) *exit_code = code;
  return qq::describe(code, false, text);
}

}  // namespace quail
