// One remote-deliver run: see delivery.hpp.
#include "delivery.hpp"

#include <sys/stat.h>

#include "control.hpp"
#include "fd.hpp"
#include "log.hpp"
#include "root.hpp"

namespace quail::rd {
namespace {

constexpr int ms = 1000;

// A domain in control/locals or control/virtualdomains ("." entries match subdomains).
bool listed(const std::vector<std::string>& domains, const std::string& d) {
  for (const auto& x : domains) {
    if (x == d) return true;
    if (!x.empty() && x.front() == '.' && d.size() > x.size() && d.compare(d.size() - x.size(), x.size(), x) == 0) return true;
  }
  return false;
}

}  // namespace

std::string format_report(const std::vector<Outcome>& out, const std::string& final_text) {
  std::string r;
  for (const auto& o : out) {
    r += o.letter;
    r += o.text;
    r += '\0';
  }
  r += final_text;
  r += '\0';
  return r;
}

int usage() {
  write_all(2, "usage: remote-deliver domain sender recipient...\n"
               "       remote-deliver domain   (descriptor 0 queue-send's job socket)\n");
  return exit_usage;
}

int report_all_deferred(int n, const std::string& why) {
  log_warn({{"event", "trouble"}, {"reason", why}});
  std::vector<Outcome> out(static_cast<size_t>(n), Outcome{'s', why});
  return write_all(1, format_report(out, "Z" + why)) ? exit_ok : exit_temporary;
}

Delivery::Delivery(std::string domain) : domain_(std::move(domain)) {}

Delivery::~Delivery() = default;

int Delivery::deliver(Request q) {
  q_ = std::move(q);
  out_.assign(q_.rcpts.size(), Outcome{});
  accepted_.clear();
  last_why_.clear();
  WireMessage wire(q_.message);
  wire_ = &wire;
  // DKIM keys of this message's From domain: a bad key file defers the message
  // like any bad control file (never sent unsigned).
  Signer signer;
  std::string why = settings_why_;
  if (why.empty()) {
    if (auto k = signer.load(control_dir_, q_.msg, q_.signable, q_.message, q_.sign_domain); !k) {
      why = "unable to read control files: " + k.error().reason + " (#4.3.5)";
    }
    wire.sign_with(&signer);
  }
  if (!why.empty()) {
    decide_all('s', why);
  } else if (check_loops() && !try_kept() && route()) {
    try_hosts();
  }
  int code = report();
  wire_ = nullptr;
  return code;
}

void Delivery::decide_all(char letter, const std::string& why) {
  for (auto& o : out_) {
    if (o.letter == 0) o = {letter, why};
  }
}

Delivery::Stamp Delivery::stamp(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return {path, false, 0, 0, 0};
  return {path, true, static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
          static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size)};
}

bool Delivery::settings_changed() const {
  for (const Stamp& was : stamps_) {
    Stamp now = stamp(was.path);
    if (now.exists != was.exists || now.mtime_ns != was.mtime_ns || now.ino != was.ino || now.size != was.size) return true;
  }
  return false;
}

void Delivery::load_settings() {
  root_ = resolve_root(nullptr);
  Control c(root_);
  // Stamped before reading, so an edit made while we read is seen at the next message.
  stamps_.clear();
  for (const char* name : {"me", "locals", "virtualdomains", "timeoutconnect", "timeoutgreeting", "timeoutremote",
                           "timeoutdata", "smtproutes", "tlspolicy", "dnsservers", "smtpauth", "listeners",
                           "tls/remote-ca.pem"}) {
    stamps_.push_back(stamp(c.dir() + "/" + name));
  }
  // A bad control file is our trouble: every recipient waits, its reason names the file.
  auto bad = [&](const Error& e) {
    settings_why_ = "unable to read control files: " + e.reason + " (#4.3.5)";
  };
  auto me = c.line("me");
  if (!me) return bad(me.error());
  s_.me = *me;
  auto locals = c.list("locals");
  if (!locals) return bad(locals.error());
  auto virt = c.list("virtualdomains");
  if (!virt) return bad(virt.error());
  locals_ = std::move(*locals);
  locals_.insert(locals_.end(), virt->begin(), virt->end());
  struct Num {
    const char* name;
    int* into;
  };
  for (auto [name, into] : {Num{"timeoutconnect", &s_.timeouts.connect_ms}, Num{"timeoutgreeting", &s_.timeouts.greeting_ms},
                            Num{"timeoutremote", &s_.timeouts.command_ms}, Num{"timeoutdata", &s_.timeouts.data_ms}}) {
    auto v = c.integer(name);
    if (!v) return bad(v.error());
    *into = static_cast<int>(*v) * ms;
  }
  auto file = [&](const char* name) { return c.dir() + "/" + name; };
  auto routes = c.lines("smtproutes");
  if (!routes) return bad(routes.error());
  auto r = parse_smtproutes(*routes, file("smtproutes"));
  if (!r) return bad(r.error());
  routes_ = std::move(*r);
  auto tls = c.lines("tlspolicy");
  if (!tls) return bad(tls.error());
  auto t = parse_tlspolicy(*tls, file("tlspolicy"));
  if (!t) return bad(t.error());
  tls_ = std::move(*t);
  auto dns = c.lines("dnsservers");
  if (!dns) return bad(dns.error());
  auto ds = parse_dnsservers(*dns, file("dnsservers"));
  if (!ds) return bad(ds.error());
  dns_servers_ = std::move(*ds);
  auto auth = c.lines("smtpauth");
  if (!auth) return bad(auth.error());
  auto a = parse_smtpauth(*auth, file("smtpauth"));
  if (!a) return bad(a.error());
  auth_ = std::move(*a);
  tls_ctx_ = std::make_unique<TlsContexts>(c.dir() + "/tls/remote-ca.pem");
  s_.tls = tls_ctx_.get();
  control_dir_ = c.dir();
}

bool Delivery::check_loops() {
  if (listed(locals_, q_.domain)) {
    // queue-send routes local domains itself; a change of control/locals it has
    // not reread yet lands here. Temporary: after its HUP the mail goes local.
    decide_all('s', q_.domain + " is a local domain here: not sent out (#4.3.5)");
    return false;
  }
  if (q_.received > max_received) {
    decide_all('h', "the message has " + std::to_string(q_.received) + " Received fields: a mail loop (#5.4.6)");
    return false;
  }
  return true;
}

bool Delivery::route() {
  // A run's messages share the route it found first; a failed lookup is made
  // again for the next message.
  if (routed_) return true;
  if (!dns_) dns_ = std::make_unique<LazyResolver>(dns_servers_);
  plan_ = plan_route(q_.domain, routes_, *dns_);
  std::string hosts;
  for (const auto& h : plan_.hops) hosts += (hosts.empty() ? "" : ",") + h.host;
  if (plan_.failed) {
    log_info({{"msg", q_.msg}, {"event", "route"}, {"domain", q_.domain}, {"via", "none"}, {"reason", plan_.why}});
    decide_all(plan_.permanent ? 'h' : 's', plan_.why);
    return false;
  }
  log_info({{"msg", q_.msg}, {"event", "route"}, {"domain", q_.domain}, {"via", plan_.via}, {"hosts", hosts}});
  routed_ = true;
  return true;
}

}  // namespace quail::rd
