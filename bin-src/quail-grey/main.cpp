// quail-grey: the administrator's view of greylisting (man/quail-grey.8): list
// the triplets and allowlisted networks in the store control/store names, allow
// a network, purge expired entries. Trusts the store's contents only as text.
#include <algorithm>
#include <ctime>
#include <getopt.h>
#include <string>

#include "abuse_keys.hpp"
#include "decimal.hpp"
#include "fd.hpp"
#include "program.hpp"
#include "service_cli.hpp"
#include "state_store.hpp"

namespace {

namespace admin = quail::admin;

constexpr std::string_view usage_text = "usage: quail grey [--root DIR] list | allow NET [SECONDS] | purge";

int fail(int code, const std::string& reason) {
  admin::say("grey", reason);
  return code;
}

std::string until(int64_t expires) { return expires == 0 ? "never" : std::to_string(expires); }

int list(quail::StateStore& st, int64_t now) {
  auto allowed = st.scan(quail::grey_allow_prefix, now);
  if (!allowed) return fail(admin::temporary, allowed.error().reason);
  auto triplets = st.scan(quail::grey_triplet_prefix, now);
  if (!triplets) return fail(admin::temporary, triplets.error().reason);
  auto by_key = [](const quail::StateEntry& a, const quail::StateEntry& b) { return a.key < b.key; };
  std::sort(allowed->begin(), allowed->end(), by_key);
  std::sort(triplets->begin(), triplets->end(), by_key);
  std::string out;
  for (const auto& e : *allowed) {
    out += "allow " + e.key.substr(quail::grey_allow_prefix.size()) + (e.value == 1 ? " manual" : " passed") +
           " expires=" + until(e.expires) + "\n";
  }
  for (const auto& e : *triplets) {
    out += "triplet " + e.key.substr(quail::grey_triplet_prefix.size()) + " first=" + std::to_string(e.value) +
           " expires=" + until(e.expires) + "\n";
  }
  return quail::write_all(1, out) ? admin::ok : admin::temporary;
}

int allow(quail::StateStore& st, std::string_view net_text, const char* seconds, int64_t now) {
  auto net = quail::parse_grey_network(net_text);
  if (!net) return fail(admin::usage, "not an address or its /24 or /64 network: " + std::string(net_text));
  int64_t ttl = 0;  // without SECONDS: allowed for good (allow NET 1 ends it a second later)
  if (seconds) {
    auto n = quail::parse_decimal(seconds, 315360000);
    if (!n) return fail(admin::usage, "SECONDS must be a number of seconds up to 10 years");
    ttl = static_cast<int64_t>(*n);
  }
  if (auto s = st.put(quail::grey_allow_key(*net), 1, ttl, now); !s) return fail(admin::temporary, s.error().reason);
  return quail::write_all(1, "quail grey: " + *net + " allowed" + (ttl ? " for " + std::to_string(ttl) + " s" : "") + "\n")
             ? admin::ok : admin::temporary;
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("quail-grey", {admin::temporary, admin::temporary}, [&] {
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
    int args = argc - optind;
    std::string verb = args > 0 ? argv[optind] : "";
    bool valid = (verb == "list" && args == 1) || (verb == "purge" && args == 1) ||
                 (verb == "allow" && (args == 2 || args == 3));
    if (!valid) return fail(admin::usage, std::string(usage_text));
    auto root = admin::open_root(root_flag);
    if (!root) return fail(admin::exit_code(root.error().kind), root.error().reason);
    auto st = quail::open_state_store(*root);
    if (!st) return fail(admin::exit_code(st.error().kind), st.error().reason);
    int64_t now = static_cast<int64_t>(::time(nullptr));
    if (verb == "list") return list(**st, now);
    if (verb == "allow") return allow(**st, argv[optind + 1], args == 3 ? argv[optind + 2] : nullptr, now);
    auto n = (*st)->purge(now);
    if (!n) return fail(admin::temporary, n.error().reason);
    return quail::write_all(1, "quail grey: " + std::to_string(*n) + " expired entries removed from " +
                                   (*st)->describe() + "\n") ? admin::ok : admin::temporary;
  });
}
