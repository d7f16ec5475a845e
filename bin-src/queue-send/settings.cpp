// queue-send's settings: see settings.hpp. Control files through the registry only.
#include "settings.hpp"

#include <charconv>
#include <cstdlib>
#include <unistd.h>

#include "control.hpp"
#include "log.hpp"
#include "root.hpp"

namespace quail {
namespace {

// $QUAIL_RETRY_SCALE: a strict positive integer; anything else is ignored (logged),
// because a typo in a testing aid must not change a production schedule wildly.
int64_t retry_scale_from_env() {
  const char* v = std::getenv("QUAIL_RETRY_SCALE");
  if (!v || !*v) return 1;
  std::string_view s(v);
  int64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size() || n < 1 || n > 1000000) {
    log_warn({{"event", "config"}, {"reason", "ignoring malformed QUAIL_RETRY_SCALE=" + std::string(s)}});
    return 1;
  }
  return n;
}

}  // namespace

Result<Settings> load_settings(const std::string& root) {
  Control c(root);
  Settings s;
  s.root = root;
  s.bin = bin_dir(root);
  auto me = c.line("me");
  if (!me) return me.error();
  s.me = *me;
  auto bf = c.line("bouncefrom");
  if (!bf) return bf.error();
  s.bouncefrom = *bf;
  auto dbt = c.line("doublebounceto");
  if (!dbt) return dbt.error();
  s.doublebounceto = *dbt;
  auto cl = c.integer("concurrencylocal");
  if (!cl) return cl.error();
  s.concurrency_local = *cl;
  auto cr = c.integer("concurrencyremote");
  if (!cr) return cr.error();
  s.concurrency_remote = *cr;
  auto life = c.integer("queuelifetime");
  if (!life) return life.error();
  s.lifetime_s = *life;
  auto dw = c.integer("delaywarning");
  if (!dw) return dw.error();
  s.delaywarning_s = *dw;
  auto ru = c.integer("retryunitremote");
  if (!ru) return ru.error();
  s.retry_unit_remote_s = *ru;
  auto cd = c.integer("concurrencyperdomain");
  if (!cd) return cd.error();
  s.concurrency_per_domain = *cd;
  auto local = load_local_config(root);
  if (!local) return local.error();
  s.local = std::move(*local);
  s.retry_scale = retry_scale_from_env();
  s.remote_available = ::access((s.bin + "/remote-deliver").c_str(), X_OK) == 0;
  return s;
}

bool is_local_address(const Settings& s, std::string_view address) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return true;
  return is_local_domain(s.local, std::string(address.substr(at + 1)));
}

}  // namespace quail
