// One run of remote-deliver: settings, loop checks, routing, the hosts tried in
// turn, and the report. Each step that decides every recipient returns false.
#pragma once
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

class Delivery {
 public:
  explicit Delivery(Request q);
  ~Delivery();
  bool load_settings();
  bool check_loops();
  bool route();
  void try_hosts();
  // Writes the report on fd 1: exit_ok, or exit_temporary when it cannot be written.
  int report();

 private:
  void decide_all(char letter, const std::string& why);
  // Runs one session on ip; true when it decided (no other address is tried).
  bool try_address(const Hop& hop, const std::string& ip);
  Request q_;
  std::string root_;
  Settings s_;
  std::unique_ptr<TlsContexts> tls_ctx_;
  std::vector<SmtpRoute> routes_;
  std::vector<TlsPolicy> tls_;
  std::vector<SmtpAuth> auth_;
  std::vector<std::string> locals_;
  std::vector<std::string> dns_servers_;
  std::unique_ptr<LazyResolver> dns_;
  RoutePlan plan_;
  std::vector<Listener> own_;
  std::vector<Outcome> out_;
  std::string accepted_;
  std::string last_why_;
  WireMessage wire_;
  Signer signer_;
};

}  // namespace quail::rd
