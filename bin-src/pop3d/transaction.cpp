// The transaction and update states (RFC 1939 5, 6) on one locked maildrop:
// STAT LIST UIDL RETR TOP DELE RSET NOOP QUIT, CAPA. Deletions happen only at
// QUIT and are on disk before its +OK (lib/maildrop). RETR and TOP stream the
// file through the wire encoder in 64 KiB pieces.
#include <cstdlib>
#include <time.h>
#include <unistd.h>

#include "control.hpp"
#include "log.hpp"
#include "maildrop.hpp"
#include "pop3_command.hpp"
#include "pop3_wire.hpp"
#include "pop3d.hpp"

namespace quail::pop3d {
namespace {

constexpr size_t flush_at = 65536;

class Session {
 public:
  Session(Maildrop& md, LineIo& io, const std::string& sid, Guard& guard)
      : md_(md), msgs_(md.messages()), io_(io), sid_(sid), guard_(guard), done_(msgs_.size(), 0) {}
  // Serves commands until QUIT or the client goes; the end's reason.
  std::string run();
  unsigned retrieved() const { return retrieved_; }
  unsigned deleted() const { return deleted_; }

 private:
  // Message n (1-based) when it exists and is not deleted; else replies -ERR.
  MaildropMessage* find(uint32_t n);
  bool send(size_t i, std::optional<uint64_t> lines);
  void listing(const Pop3Command& c, bool uid);
  bool pump() { return !(io_.pending_output() >= flush_at && io_.flush() != IoStatus::ok); }
  // What c does for the guard; a download or deletion counts once per message
  // and kind, so no client can keep itself busy by fetching one message again.
  Step step(const Pop3Command& c);

  Maildrop& md_;
  std::vector<MaildropMessage>& msgs_;
  LineIo& io_;
  const std::string& sid_;
  unsigned retrieved_ = 0;
  unsigned deleted_ = 0;
  Guard& guard_;
  enum : uint8_t { sent = 1, topped = 2, dropped = 4 };
  std::vector<uint8_t> done_;  // per message: which of the above it has had
};

Step Session::step(const Pop3Command& c) {
  if (c.verb == Pop3Verb::quit) return Step::quit;
  uint8_t kind = 0;
  if (c.verb == Pop3Verb::retr) kind = sent;
  if (c.verb == Pop3Verb::top) kind = topped;
  if (c.verb == Pop3Verb::dele) kind = dropped;
  if (!kind || !c.n || *c.n == 0 || *c.n > msgs_.size() || msgs_[*c.n - 1].deleted) return Step::junk;
  uint8_t& d = done_[*c.n - 1];
  if (d & kind) return Step::junk;
  d |= kind;
  return Step::progress;
}

MaildropMessage* Session::find(uint32_t n) {
  if (n == 0 || n > msgs_.size() || msgs_[n - 1].deleted) {
    err(io_, "no such message");
    return nullptr;
  }
  return &msgs_[n - 1];
}

void Session::listing(const Pop3Command& c, bool uid) {
  auto line = [&](size_t i) {
    io_.write(std::to_string(i + 1));
    io_.write(" ");
    io_.write(uid ? msgs_[i].uid : std::to_string(msgs_[i].size));
  };
  if (c.n) {
    if (!find(*c.n)) return;
    io_.write("+OK ");
    line(*c.n - 1);
    io_.write("\r\n");
    return;
  }
  ok(io_, uid ? "unique-id listing follows" : "scan listing follows");
  for (size_t i = 0; i < msgs_.size(); ++i) {
    if (msgs_[i].deleted) continue;
    line(i);
    io_.write("\r\n");
    if (!pump()) return;
  }
  io_.write(".\r\n");
}

// RETR (lines: nullopt) or TOP. False when the session cannot go on (the
// message could not be read after its +OK, or the client stopped reading).
bool Session::send(size_t i, std::optional<uint64_t> lines) {
  auto fd = md_.open_message(i);
  if (!fd) {
    err(io_, fd.error().kind == ErrorKind::not_found ? "message has gone" : "[SYS/TEMP] unable to read the message");
    log_warn({{"sid", sid_}, {"event", "retr"}, {"n", i + 1}, {"reason", fd.error().reason}});
    return true;
  }
  ok(io_, lines ? "top of message follows" : std::to_string(msgs_[i].size) + " octets");
  WireEncoder enc(lines);
  std::string out;
  char buf[65536];
  for (off_t at = 0;;) {
    ssize_t n = ::pread(fd->get(), buf, sizeof buf, at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      // The +OK is out: the client cannot be told in-band, so the session ends.
      log_error({{"sid", sid_}, {"event", "retr"}, {"n", i + 1}, {"reason", sys_error(ErrorKind::io_read, "read " + msgs_[i].path).reason}});
      return false;
    }
    if (n == 0) break;
    at += n;
    out.clear();
    bool more = enc.feed(std::string_view(buf, static_cast<size_t>(n)), out);
    io_.write(out);
    if (!pump()) return false;
    if (!more) break;
  }
  out.clear();
  enc.finish(out);
  io_.write(out);
  io_.write(".\r\n");
  if (!lines) ++retrieved_;
  return true;
}

std::string Session::run() {
  std::string line;
  unsigned errors = 0;
  for (;;) {
    IoStatus st = io_.read_line(line, max_pop3_line);
    if (st == IoStatus::too_long) {
      err(io_, "line too long");
      if (++errors >= max_errors) return "errors";
      continue;
    }
    if (st != IoStatus::ok) return st == IoStatus::timeout ? "timeout" : "eof";
    Pop3Command c;
    Pop3Parse p = parse_pop3_command(line, c);
    if (p != Pop3Parse::ok) {
      err(io_, p == Pop3Parse::unknown ? "unknown command" : "syntax error");
      if (++errors >= max_errors) return "errors";
      continue;
    }
    if (std::string why; !guard_.admit(step(c), io_, why)) return why;
    switch (c.verb) {
      case Pop3Verb::stat: {
        uint64_t count = 0, octets = 0;
        for (const auto& m : msgs_) {
          if (!m.deleted) ++count, octets += m.size;
        }
        ok(io_, std::to_string(count) + " " + std::to_string(octets));
        break;
      }
      case Pop3Verb::list: listing(c, false); break;
      case Pop3Verb::uidl: listing(c, true); break;
      case Pop3Verb::retr:
        if (find(*c.n) && !send(*c.n - 1, std::nullopt)) return "io_error";
        break;
      case Pop3Verb::top:
        if (find(*c.n) && !send(*c.n - 1, c.lines)) return "io_error";
        break;
      case Pop3Verb::dele:
        if (auto* m = find(*c.n)) {
          m->deleted = true;
          ++deleted_;
          ok(io_, "message " + std::to_string(*c.n) + " deleted");
        }
        break;
      case Pop3Verb::rset:
        for (auto& m : msgs_) m.deleted = false;
        deleted_ = 0;
        ok(io_, "maildrop has " + std::to_string(msgs_.size()) + " messages");
        break;
      case Pop3Verb::noop: ok(io_, ""); break;
      case Pop3Verb::capa:
        ok(io_, "capability list follows");
        io_.write("TOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nIMPLEMENTATION quail\r\n.\r\n");
        break;
      case Pop3Verb::quit:
        if (auto s = md_.commit(); !s) {
          log_error({{"sid", sid_}, {"event", "update"}, {"reason", s.error().reason}});
          err(io_, "[SYS/TEMP] some deleted messages not removed");
        } else {
          ok(io_, "bye, " + std::to_string(deleted_) + " deleted");
        }
        return "quit";
      default:
        err(io_, "already logged in");
        if (++errors >= max_errors) return "errors";
        break;
    }
  }
}

int64_t clock_ms(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

int serve_maildrop(const std::string& root, const std::string& sid, const char* start_arg) {
  LineIo io(0, 1, 60000);
  const char* user_env = std::getenv("USER");
  const std::string user = user_env ? user_env : "";
  std::string maildir;
  if (const char* m = std::getenv("MAILDIR"); m && *m) maildir = m;
  else if (const char* h = std::getenv("HOME"); h && *h) maildir = std::string(h) + "/Maildir/";
  const long long session_began = session_start(start_arg);
  Control control(root);
  auto timeout = control.integer("timeoutpop3d");
  auto limits = timeout ? load_limits(control, static_cast<int>(*timeout * 1000)) : Result<SessionLimits>(timeout.error());
  if (!limits || maildir.empty()) {
    log_error({{"sid", sid}, {"event", "config"}, {"reason", limits ? "neither MAILDIR nor HOME is set" : limits.error().reason}});
    err(io, "[SYS/TEMP] temporary configuration error, try again later");
    io.flush();
    return exit_ok;
  }
  io.set_timeout(static_cast<int>(*timeout * 1000));
  int64_t start = clock_ms(CLOCK_MONOTONIC), start_cpu = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
  auto locked = Maildrop::lock(maildir);
  if (!locked || !*locked) {
    bool busy = locked && !*locked;
    log_warn({{"sid", sid}, {"event", "maildrop"}, {"user", user}, {"result", busy ? "in_use" : "error"},
              {"reason", busy ? std::string("locked by another session") : locked.error().reason}});
    err(io, busy ? "[IN-USE] maildrop is in use by another session" : "[SYS/TEMP] unable to open the maildrop");
    io.flush();
    return exit_ok;
  }
  Maildrop& md = **locked;
  if (auto s = md.scan(); !s) {
    log_error({{"sid", sid}, {"event", "maildrop"}, {"user", user}, {"result", "error"}, {"reason", s.error().reason}});
    err(io, "[SYS/TEMP] unable to read the maildrop");
    io.flush();
    return exit_ok;
  }
  uint64_t octets = 0;
  for (const auto& m : md.messages()) octets += m.size;
  ok(io, std::to_string(md.messages().size()) + " messages (" + std::to_string(octets) + " octets)");
  io.flush();
  log_info({{"sid", sid}, {"event", "maildrop"}, {"user", user}, {"result", "open"}, {"messages", md.messages().size()},
            {"octets", octets}, {"ms", clock_ms(CLOCK_MONOTONIC) - start}, {"cpu_ms", clock_ms(CLOCK_PROCESS_CPUTIME_ID) - start_cpu}});
  // After the +OK: the client need not wait for the cache to reach the disk.
  if (auto s = md.save_cache(); !s) log_warn({{"sid", sid}, {"event", "cache"}, {"reason", s.error().reason}});

  Guard guard(*limits, session_began, sid, "a download");
  Session session(md, io, sid, guard);
  std::string why = session.run();
  io.flush();
  log_info({{"sid", sid}, {"event", "end"}, {"user", user}, {"reason", why}, {"retrieved", session.retrieved()},
            {"deleted", why == "quit" ? session.deleted() : 0u}});
  return exit_ok;
}

}  // namespace quail::pop3d
