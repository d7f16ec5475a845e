// queue-send's settings: the control files it reads at start and on SIGHUP, and
// what it learns from the environment and ROOT/bin. See man/queue-send.8.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "local_lookup.hpp"
#include "result.hpp"

namespace quail {

struct Settings {
  std::string root;
  std::string bin;                  // where local-deliver and remote-deliver live
  std::string me;                   // control/me
  std::string bouncefrom;           // control/bouncefrom (local part)
  std::string doublebounceto;       // control/doublebounceto (local part)
  int64_t concurrency_local = 10;   // control/concurrencylocal
  int64_t concurrency_remote = 20;  // control/concurrencyremote
  int64_t lifetime_s = 604800;      // control/queuelifetime
  int64_t delaywarning_s = 14400;   // control/delaywarning (0: no delay notices)
  int64_t retry_unit_remote_s = 300;  // control/retryunitremote
  int64_t concurrency_per_domain = 10;  // control/concurrencyperdomain
  int64_t retry_scale = 1;          // $QUAIL_RETRY_SCALE, a testing aid
  bool remote_available = false;    // bin/remote-deliver is an executable
  LocalConfig local;                // control/locals, control/virtualdomains (lib/local_lookup)
};

// Reads every setting; a config error names the file and line.
Result<Settings> load_settings(const std::string& root);
// True when mail for `address` is delivered on this host: its domain (after the
// last @, lowercased) is in locals or virtualdomains. An address without @ is local.
bool is_local_address(const Settings& s, std::string_view address);

}  // namespace quail
