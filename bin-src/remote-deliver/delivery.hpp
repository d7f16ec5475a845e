// One run of remote-deliver: settings, loop checks, routing, the hosts tried in
// turn, and the report. Each step that decides every recipient returns false.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "request.hpp"
#include "route.hpp"
#include "session.hpp"
#include "signing.hpp"

namespace quail::rd {

// Exit codes (man/remote-deliver.8, EXIT CODES). Outcomes travel in the report:
// 0 whenever one was written, whatever it says.
inline constexpr int exit_ok = 0;
inline constexpr int exit_usage = 100;
inline constexpr int exit_temporary = 111;

int usage();
// qmail-remote's report: per recipient its letter and text and a NUL, then the final record.
std::string format_report(const std::vector<Outcome>& out, const std::string& final_record);
// Reports every one of n recipients deferred with why (no request could be read).
int report_all_deferred(int n, const std::string& why);

// A run: one message (the arguments) or, kept by queue-send, several for one
// domain in turn (jobs on fd 0). Settings and the route are read once; the
// connection that took one message is kept for the next (man/remote-deliver.8,
// "KEPT RUNS").
class Delivery {
 public:
  explicit Delivery(std::string domain);
  ~Delivery();
  // Reads the control files; a bad one defers every message of the run.
  void load_settings();
  // True when a control file load_settings read (or found absent) has changed
  // since: a kept run then starts afresh, so an edit takes effect at the next
  // message as it would with a process per message.
  bool settings_changed() const;
  // Delivers one message to its recipients and writes its report on fd 1:
  // exit_ok, or exit_temporary when the report cannot be written.
  int deliver(Request q);
  // QUIT on the kept connection, if any.
  void close();

 private:
  bool check_loops();
  bool route();
  void try_hosts();
  bool try_kept();
  int report();
  void decide_all(char letter, const std::string& why);
  // Runs one session on ip; true when it decided (no other address is tried).
  bool try_address(const Hop& hop, const std::string& ip);
  // Takes a session's outcomes; keeps the connection when the session allows.
  void take(const SessionResult& r, Conn& c, const Target& t, const Greeted& g);

  struct Kept {
    Conn conn;
    Target target;
    Greeted greeted;
  };
  std::string domain_;
  Request q_;
  std::string root_;
  std::string settings_why_;  // non-empty: the control files could not be read
  Settings s_;
  std::unique_ptr<TlsContexts> tls_ctx_;
  std::vector<SmtpRoute> routes_;
  std::vector<TlsPolicy> tls_;
  std::vector<SmtpAuth> auth_;
  std::vector<std::string> locals_;
  std::vector<std::string> dns_servers_;
  std::unique_ptr<LazyResolver> dns_;
  bool routed_ = false;
  RoutePlan plan_;
  bool own_known_ = false;
  std::vector<Listener> own_;
  std::unique_ptr<Kept> kept_;
  std::vector<Outcome> out_;
  std::string accepted_;
  std::string last_why_;
  WireMessage* wire_ = nullptr;
  std::string control_dir_;
  struct Stamp {
    std::string path;
    bool exists;
    int64_t mtime_ns;
    uint64_t ino, size;
  };
  std::vector<Stamp> stamps_;
  static Stamp stamp(const std::string& path);
};

}  // namespace quail::rd
