// What one smtpd session runs with: control files (read once, at start) and the
// UCSPI environment tcpserver or inetd gives it. Trusts the administrator's
// files; the client's address comes from the environment or the socket itself.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control.hpp"
#include "local_lookup.hpp"
#include "milter_config.hpp"
#include "queue_space.hpp"
#include "result.hpp"
#include "session_guard.hpp"
#include "tls_start.hpp"

namespace quail::smtpd {

struct Settings {
  std::string root;
  // ROOT/control as this session found it at its start (Control::read_once): the
  // files read later in the session (authcheck, checkpassword, the abuse limits)
  // come through it too.
  Control control{std::string()};
  std::string me;          // control/me: Received lines, 221 and EHLO greetings
  std::string greeting;    // control/smtpgreeting, after "220 "
  uint64_t databytes = 0;  // 0: no limit
  size_t maxrcpt = 0;
  int timeout_ms = 0;
  int maxerrors = 0;
  std::vector<std::string> rcpthosts;  // lowercased; ".example" entries match subdomains
  LocalConfig local;
  // The client, from the UCSPI environment (getpeername under a bare inetd).
  std::string remote_ip;
  std::string remote_port;
  std::string local_ip;
  bool relayclient = false;  // RELAYCLIENT set (its value is ignored)
  // PLAINTEXTLOGIN set by a tcpserver rule: AUTH is offered without TLS
  // (control/rules.* as quail init writes them: 127.0.0.1 and ::1 only).
  bool plaintext_login = false;
  // Implicit TLS: tlsd runs in front of us and said what it negotiated.
  std::optional<TlsInfo> implicit_tls;
  // The submission service (587, 465; RFC 6409): AUTH before MAIL, the user's own
  // sender and From:, Date and Message-ID added. Set by main from its argument.
  bool submission = false;
  std::vector<std::string> sendas;  // control/sendas: "login address" lines
  std::string sid;           // this session's id in the log and in Received lines
  milter::Config milters;    // control/milters: no filter unless it names one
  SpaceFloor queue_floor;    // control/queuefree, control/queuefreebytes (storage.cpp)
  // The wait per command (timeout_ms, shortened under TCPBUSY), junk cap and lifetime (guard.cpp).
  SessionLimits guard;
  bool busy = false;         // TCPBUSY: started while tcpserver was near its limit
};

// guard.cpp: timeoutsmtpdbusy, maxjunk, timeoutsmtpdsession, and TCPBUSY.
Status load_guard_settings(const Control& control, Settings& s);

// Reads control files and the environment; a config error names the file and line.
Result<Settings> load_settings(const std::string& root, bool submission = false);


}  // namespace quail::smtpd
