// Where a domain's mail goes: an address literal, control/smtproutes, or DNS (MX
// in preference order with equal preferences shuffled; the implicit MX when there
// is none; RFC 7505's null MX refused), and which addresses are this instance's
// own listeners (mail to them would loop). See man/remote-deliver.8, ROUTING.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dns_resolver.hpp"
#include "smtp_routes.hpp"

namespace quail::rd {

struct Hop {
  std::string host;  // a name to resolve, or the address of a literal
  bool literal = false;
  uint16_t port = 25;
};

struct RoutePlan {
  std::vector<Hop> hops;  // in the order to try
  std::string via;        // literal, smtproutes, mx, implicit-mx (for the log)
  bool failed = false;    // no hop: why says why, permanent or not
  bool permanent = false;
  std::string why;
};

// The resolver is made only when DNS is needed (most of its cost is its start).
class LazyResolver {
 public:
  explicit LazyResolver(std::vector<std::string> servers) : servers_(std::move(servers)) {}
  // nullptr with why when it cannot be made.
  Resolver* get(std::string& why);

 private:
  std::vector<std::string> servers_;
  std::unique_ptr<Resolver> r_;
};

RoutePlan plan_route(const std::string& domain, const std::vector<SmtpRoute>& routes, LazyResolver& dns);

// A listener of this instance (from ROOT/run and its tcpserver's arguments).
struct Listener {
  std::string ip;  // as tcpserver was given it; "0.0.0.0" or "::" for every address
  uint16_t port = 0;
};
std::vector<Listener> own_listeners(const std::string& root);
// True when connecting to ip:port would reach one of the listeners.
bool is_own_listener(const std::vector<Listener>& listeners, const std::string& ip, uint16_t port);

}  // namespace quail::rd
