// Routing: see route.hpp.
#include "route.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <charconv>
#include <cstring>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <random>
#include <sys/random.h>

#include "control.hpp"
#include "service.hpp"

namespace quail::rd {
namespace {

// An address in a comparable form (16 bytes, IPv4 mapped); false when not an address.
bool canonical(const std::string& ip, unsigned char out[16]) {
  std::memset(out, 0, 16);
  if (::inet_pton(AF_INET6, ip.c_str(), out) == 1) return true;
  if (::inet_pton(AF_INET, ip.c_str(), out + 12) == 1) {
    out[10] = out[11] = 0xff;
    return true;
  }
  return false;
}

bool local_address(const std::string& ip) {
  unsigned char want[16];
  if (!canonical(ip, want)) return false;
  if ((want[10] == 0xff && want[11] == 0xff && want[12] == 127) || ip == "::1") return true;
  ifaddrs* ifs = nullptr;
  if (::getifaddrs(&ifs) != 0) return false;
  bool found = false;
  for (ifaddrs* i = ifs; i && !found; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    char buf[INET6_ADDRSTRLEN];
    int fam = i->ifa_addr->sa_family;
    const void* a = fam == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr)
                    : fam == AF_INET6 ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr)
                                      : nullptr;
    unsigned char have[16];
    if (a && ::inet_ntop(fam, a, buf, sizeof buf) && canonical(buf, have)) found = std::memcmp(have, want, 16) == 0;
  }
  ::freeifaddrs(ifs);
  return found;
}

std::mt19937 seeded() {
  uint32_t seed = 0;
  if (::getrandom(&seed, sizeof seed, 0) != sizeof seed) seed = static_cast<uint32_t>(::getpid());
  return std::mt19937(seed);
}

RoutePlan fail(bool permanent, std::string why) {
  RoutePlan p;
  p.failed = true;
  p.permanent = permanent;
  p.why = std::move(why);
  return p;
}

}  // namespace

Resolver* LazyResolver::get(std::string& why) {
  if (!r_) {
    auto r = Resolver::create(servers_);
    if (!r) {
      why = r.error().reason;
      return nullptr;
    }
    r_ = std::make_unique<Resolver>(std::move(*r));
  }
  return r_.get();
}

RoutePlan plan_route(const std::string& domain, const std::vector<SmtpRoute>& routes, LazyResolver& dns) {
  RoutePlan plan;
  if (!domain.empty() && domain.front() == '[') {
    auto h = parse_relay_host(domain, false);
    if (!h) return fail(true, "the domain " + domain + " is not a valid address literal (#5.1.2)");
    plan.hops.push_back({h->name, true, 25});
    plan.via = "literal";
    return plan;
  }
  if (const SmtpRoute* r = find_route(routes, domain); r && r->relay) {
    plan.hops.push_back({r->relay->name, r->relay->literal, r->relay->port});
    plan.via = "smtproutes";
    return plan;
  }
  std::string why;
  Resolver* res = dns.get(why);
  if (!res) return fail(false, why + " (#4.4.3)");
  std::vector<MxRecord> mx;
  switch (res->mx(domain, mx, why)) {
    case DnsStatus::temporary:
      return fail(false, "unable to look up MX records of " + domain + ": " + why + " (#4.4.3)");
    case DnsStatus::nxdomain:
      return fail(true, "the domain " + domain + " does not exist (DNS: NXDOMAIN) (#5.1.2)");
    case DnsStatus::nodata: {
      // RFC 5321 5.1: no MX records, so the domain itself is the implicit MX.
      std::vector<std::string> addrs;
      DnsStatus st = res->addresses(domain, addrs, why);
      if (st == DnsStatus::temporary) return fail(false, "unable to look up addresses of " + domain + ": " + why + " (#4.4.3)");
      if (st != DnsStatus::ok) return fail(true, "the domain " + domain + " has no MX, A or AAAA record (#5.1.2)");
      plan.hops.push_back({domain, false, 25});
      plan.via = "implicit-mx";
      return plan;
    }
    case DnsStatus::ok:
      break;
  }
  // RFC 7505: a single MX "0 ." says the domain accepts no mail.
  if (mx.size() == 1 && mx[0].host.empty()) {
    return fail(true, "the domain " + domain + " accepts no mail (null MX, RFC 7505) (#5.1.10)");
  }
  std::erase_if(mx, [](const MxRecord& m) { return m.host.empty(); });
  auto rng = seeded();
  std::shuffle(mx.begin(), mx.end(), rng);
  std::stable_sort(mx.begin(), mx.end(), [](const MxRecord& a, const MxRecord& b) { return a.preference < b.preference; });
  for (const auto& m : mx) plan.hops.push_back({m.host, false, 25});
  plan.via = "mx";
  return plan;
}

std::vector<Listener> own_listeners(const std::string& root) {
  std::vector<Listener> out;
  // control/listeners says where each listener quail up runs listens ("SERVICE
  // ADDRESS:PORT", man/quail-up.8); only the ones running now can loop back.
  auto lines = Control(root).list("listeners");
  if (!lines) return out;
  for (const auto& line : *lines) {
    size_t space = line.find_first_of(" \t");
    if (space == std::string::npos) continue;
    std::string service = line.substr(0, space);
    if (!service_is_listener(service) || service_status(root, service).state != ServiceState::running) continue;
    std::string addr = line.substr(line.find_first_not_of(" \t", space));
    size_t colon = addr.rfind(':');
    if (colon == std::string::npos) continue;
    std::string host = addr.substr(0, colon), port = addr.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535) continue;
    out.push_back({host, static_cast<uint16_t>(p)});
  }
  return out;
}

bool is_own_listener(const std::vector<Listener>& listeners, const std::string& ip, uint16_t port) {
  unsigned char want[16];
  if (!canonical(ip, want)) return false;
  for (const auto& l : listeners) {
    if (l.port != port) continue;
    if (l.ip == "0.0.0.0" || l.ip == "::") {
      if (local_address(ip)) return true;
      continue;
    }
    unsigned char have[16];
    if (canonical(l.ip, have) && std::memcmp(have, want, 16) == 0) return true;
  }
  return false;
}

}  // namespace quail::rd
