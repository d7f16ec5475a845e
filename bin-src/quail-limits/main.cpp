// quail-limits: the rate-limit counters of the current windows, from the store
// control/store names, beside the limits in force (man/quail-limits.8).
#include <algorithm>
#include <ctime>
#include <getopt.h>
#include <string>

#include "abuse_keys.hpp"
#include "control.hpp"
#include "fd.hpp"
#include "program.hpp"
#include "service_cli.hpp"
#include "state_store.hpp"

namespace {

namespace admin = quail::admin;

constexpr std::string_view usage_text = "usage: quail limits [--root DIR] show";

int fail(int code, const std::string& reason) {
  admin::say("limits", reason);
  return code;
}

// The control file holding the limit a counter is held to.
std::string_view limit_file(const quail::LimitKey& k) {
  switch (k.kind) {
    case quail::LimitKind::connections: return "ratelimitconnections";
    case quail::LimitKind::messages: return k.user ? "ratelimitusermessages" : "ratelimitmessages";
    case quail::LimitKind::recipients: return k.user ? "ratelimituserrecipients" : "ratelimitrecipients";
  }
  return "";
}

int show(const std::string& root) {
  auto st = quail::open_state_store(root);
  if (!st) return fail(admin::exit_code(st.error().kind), st.error().reason);
  int64_t now = static_cast<int64_t>(::time(nullptr));
  auto entries = (*st)->scan(quail::limit_prefix, now);
  if (!entries) return fail(admin::temporary, entries.error().reason);
  quail::Control ctl(root);
  std::vector<std::string> lines;
  for (const auto& e : *entries) {
    auto k = quail::parse_limit_key(e.key);
    // Only the window now running counts; the one before stays to be shown no more.
    if (!k || k->window_start + quail::limit_window(k->kind) <= now) continue;
    auto limit = ctl.integer(limit_file(*k));
    if (!limit) return fail(admin::usage, limit.error().reason);
    lines.push_back(std::string(quail::limit_kind_name(k->kind)) + (k->user ? " user " : " ip ") + k->who + " " +
                    std::to_string(e.value) + "/" + (*limit ? std::to_string(*limit) : "unlimited") + " per " +
                    (k->kind == quail::LimitKind::connections ? "minute" : "hour") +
                    (*limit && e.value >= *limit ? " reached" : "") + "\n");
  }
  std::sort(lines.begin(), lines.end());
  std::string out = "quail limits: " + std::to_string(lines.size()) + " counters in " + (*st)->describe() + "\n";
  for (const auto& l : lines) out += l;
  return quail::write_all(1, out) ? admin::ok : admin::temporary;
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("quail-limits", {admin::temporary, admin::temporary}, [&] {
    static const option longopts[] = {{"root", required_argument, nullptr, 'r'},
                                      {"help", no_argument, nullptr, 'h'},
                                      {nullptr, 0, nullptr, 0}};
    const char* root_flag = nullptr;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+", longopts, nullptr)) != -1) {
      if (c == 'r') root_flag = optarg;
      else if (c == 'h') return admin::help(usage_text);
      else return fail(admin::usage, std::string(usage_text));
    }
    if (argc - optind != 1 || std::string_view(argv[optind]) != "show") return fail(admin::usage, std::string(usage_text));
    auto root = admin::open_root(root_flag);
    if (!root) return fail(admin::exit_code(root.error().kind), root.error().reason);
    return show(*root);
  });
}
