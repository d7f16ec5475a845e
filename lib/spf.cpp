// SPF evaluation: see spf.hpp. Section numbers are RFC 7208's.
#include "spf.hpp"

#include <optional>
#include <utility>

namespace quail::spf {
namespace {

constexpr int max_lookups = 10;       // 4.6.4: DNS-querying terms per check
constexpr int max_void_lookups = 2;   // 4.6.4: answers with no records
constexpr size_t max_names = 10;      // 4.6.4: MX hosts / PTR names looked up per term

// temperror or permerror: ends the whole evaluation, includes and redirects too.
struct Abort {
  Code code;
  std::string why;
};

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// 4.3: a multi-label name with no empty label and none over 63 characters.
bool valid_domain(std::string_view d) {
  if (!d.empty() && d.back() == '.') d.remove_suffix(1);
  if (d.empty() || d.size() > 253 || d.find('.') == std::string_view::npos) return false;
  size_t start = 0;
  for (;;) {
    size_t dot = d.find('.', start);
    size_t len = (dot == std::string_view::npos ? d.size() : dot) - start;
    if (len == 0 || len > 63) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// A name equal to domain or below it (5.5's "ptr" match), both lowercase.
bool at_or_below(const std::string& name, const std::string& domain) {
  return name == domain || (name.size() > domain.size() && name.ends_with("." + domain));
}

Code qualifier_code(Qualifier q) {
  switch (q) {
    case Qualifier::pass: return Code::pass;
    case Qualifier::fail: return Code::fail;
    case Qualifier::softfail: return Code::softfail;
    case Qualifier::neutral: return Code::neutral;
  }
  return Code::neutral;
}

class Evaluator {
 public:
  Evaluator(const Request& r, Dns& dns, std::string sender) : sender_(std::move(sender)), req_(r), dns_(dns) {}

  // check_host(<ip>, domain, <sender>) of section 4; throws Abort for temperror/permerror.
  Code check_host(const std::string& domain, Verdict& v) {
    if (!valid_domain(domain)) return Code::none;
    std::vector<std::string> txts;
    Answer a = dns_.txt(domain, txts);
    if (a == Answer::temporary) throw Abort{Code::temperror, "DNS failure looking up " + domain};
    const std::string* found = nullptr;
    for (const auto& t : txts) {
      if (!is_spf_record(t)) continue;
      if (found) throw Abort{Code::permerror, "more than one SPF record at " + domain};
      found = &t;
    }
    if (!found) return Code::none;
    std::string why;
    auto record = parse_record(*found, why);
    if (!record) throw Abort{Code::permerror, why + " (at " + domain + ")"};
    MacroContext ctx = context(domain);
    for (const auto& t : record->terms) {
      if (t.modifier) continue;
      if (matches(t, ctx, v)) {
        Code c = qualifier_code(t.qualifier);
        v.mechanism = mechanism_text(t);
        if (c == Code::fail && record->exp) v.explanation = explain(*record->exp, ctx);
        return c;
      }
    }
    if (record->redirect) {
      count_lookup();
      auto target = expand_domain(*record->redirect, ctx);
      v.explanation.clear();
      Code c = check_host(target, v);
      // 6.1: a redirect to a domain without a record is a permerror.
      if (c == Code::none) throw Abort{Code::permerror, "redirect to " + target + " finds no SPF record"};
      return c;
    }
    v.mechanism.clear();
    return Code::neutral;  // 4.7: no match, no redirect
  }

  int lookups() const { return lookups_; }

 private:
  MacroContext context(const std::string& domain) {
    MacroContext c;
    c.sender = sender_;
    size_t at = sender_.rfind('@');
    c.local_part = sender_.substr(0, at);
    c.sender_domain = sender_.substr(at + 1);
    c.domain = domain;
    c.ip = req_.ip;
    c.helo = req_.helo;
    c.receiver = req_.receiver;
    c.now = req_.now;
    c.validated_name = [this, domain] { return validated_name(domain); };
    return c;
  }

  void count_lookup() {
    if (++lookups_ > max_lookups) throw Abort{Code::permerror, "more than 10 DNS-querying terms"};
  }

  void count_void() {
    if (++voids_ > max_void_lookups) throw Abort{Code::permerror, "more than 2 void lookups"};
  }

  // A lookup's answer: true with records; void answers counted; DNS failure aborts.
  bool answered(Answer a, const std::string& name) {
    if (a == Answer::temporary) throw Abort{Code::temperror, "DNS failure looking up " + name};
    if (a != Answer::ok) count_void();
    return a == Answer::ok;
  }

  std::string expand_domain(const std::string& spec, const MacroContext& ctx) {
    if (spec.empty()) return ctx.domain;
    auto e = expand_macros(spec, ctx, false);
    if (!e) throw Abort{Code::permerror, "malformed macro in " + spec};
    return lowercase(fit_domain(*e));
  }

  // True when any of the addresses is in the term's network.
  bool any_in(const std::vector<std::string>& addrs, const Term& t) const {
    for (const auto& s : addrs) {
      auto a = IpAddress::parse(s);
      if (a && req_.ip.in_network(*a, req_.ip.v6 ? t.cidr6 : t.cidr4)) return true;
    }
    return false;
  }

  bool matches(const Term& t, const MacroContext& ctx, Verdict& v) {
    switch (t.kind) {
      case MechanismKind::all: return true;
      case MechanismKind::ip4:
      case MechanismKind::ip6:
        return req_.ip.in_network(*t.network, t.kind == MechanismKind::ip6 ? t.cidr6 : t.cidr4);
      default: break;
    }
    count_lookup();
    std::string target = expand_domain(t.domain_spec, ctx);
    switch (t.kind) {
      case MechanismKind::include: return include(target, v);
      case MechanismKind::a: return address_match(target, t);
      case MechanismKind::mx: return mx_match(target, t);
      case MechanismKind::ptr: return ptr_match(target);
      case MechanismKind::exists: {
        std::vector<std::string> addrs;
        return valid_domain(target) ? answered(dns_.addresses(target, false, addrs), target) : (count_void(), false);
      }
      default: return false;
    }
  }

  // 5.2: pass matches; fail, softfail and neutral do not; errors and none abort.
  bool include(const std::string& target, Verdict& v) {
    std::string mechanism = v.mechanism;
    Code c = check_host(target, v);
    v.explanation.clear();  // only the top record's exp explains our answer
    v.mechanism = mechanism;
    if (c == Code::none) throw Abort{Code::permerror, "include of " + target + " finds no SPF record"};
    return c == Code::pass;
  }

  bool address_match(const std::string& target, const Term& t) {
    if (!valid_domain(target)) {
      count_void();
      return false;
    }
    std::vector<std::string> addrs;
    return answered(dns_.addresses(target, req_.ip.v6, addrs), target) && any_in(addrs, t);
  }

  bool mx_match(const std::string& target, const Term& t) {
    std::vector<std::string> hosts;
    if (!valid_domain(target)) {
      count_void();
      return false;
    }
    if (!answered(dns_.mx(target, hosts), target)) return false;
    if (hosts.size() > max_names) throw Abort{Code::permerror, "more than 10 MX hosts at " + target};
    for (const auto& h : hosts) {
      if (h.empty()) continue;  // null MX (RFC 7505): no host to look up
      std::vector<std::string> addrs;
      Answer a = dns_.addresses(h, req_.ip.v6, addrs);
      if (a == Answer::temporary) throw Abort{Code::temperror, "DNS failure looking up " + h};
      if (a == Answer::ok && any_in(addrs, t)) return true;
    }
    return false;
  }

  // 5.5: the client's names whose addresses include it. DNS errors only drop names.
  std::vector<std::string> validated_names() {
    std::vector<std::string> names, out;
    Answer a = dns_.ptr(req_.ip, names);
    if (a == Answer::nodata || a == Answer::nxdomain) count_void();
    if (a != Answer::ok) return out;
    if (names.size() > max_names) names.resize(max_names);
    for (auto& n : names) {
      std::vector<std::string> addrs;
      if (dns_.addresses(n, req_.ip.v6, addrs) != Answer::ok) continue;
      for (const auto& s : addrs) {
        auto ip = IpAddress::parse(s);
        if (ip && ip->v6 == req_.ip.v6 && ip->bytes == req_.ip.bytes) {
          out.push_back(lowercase(n));
          break;
        }
      }
    }
    return out;
  }

  bool ptr_match(const std::string& target) {
    for (const auto& n : validated_names()) {
      if (at_or_below(n, target)) return true;
    }
    return false;
  }

  // 7.3's %{p}: the domain itself, else a name below it, else any validated name.
  std::string validated_name(const std::string& domain) {
    auto names = validated_names();
    std::string d = lowercase(domain);
    for (const auto& n : names) {
      if (n == d) return n;
    }
    for (const auto& n : names) {
      if (at_or_below(n, d)) return n;
    }
    return names.empty() ? "unknown" : names.front();
  }

  // 6.2: the explanation; any trouble just leaves it out.
  std::string explain(const std::string& spec, const MacroContext& ctx) {
    try {
      std::string name = expand_domain(spec, ctx);
      std::vector<std::string> txts;
      if (!valid_domain(name) || dns_.txt(name, txts) != Answer::ok || txts.size() != 1) return "";
      auto e = expand_macros(txts.front(), ctx, true);
      return e ? *e : "";
    } catch (const Abort&) {
      return "";
    }
  }

  static std::string mechanism_text(const Term& t) {
    static const char* names[] = {"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"};
    std::string s = names[static_cast<int>(t.kind)];
    if (t.network) return s + ":" + t.network->str();
    return t.domain_spec.empty() ? s : s + ":" + t.domain_spec;
  }

  std::string sender_;  // local@domain, never null (see check())
  const Request& req_;
  Dns& dns_;
  int lookups_ = 0;
  int voids_ = 0;
};

}  // namespace

std::string_view code_name(Code c) {
  switch (c) {
    case Code::none: return "none";
    case Code::neutral: return "neutral";
    case Code::pass: return "pass";
    case Code::fail: return "fail";
    case Code::softfail: return "softfail";
    case Code::temperror: return "temperror";
    case Code::permerror: return "permerror";
  }
  return "none";
}

Verdict check(const Request& r, Dns& dns) {
  Verdict v;
  // 2.4: the null sender is checked as postmaster@<HELO>; 4.3: no local part, postmaster.
  std::string sender = r.sender.empty() ? "postmaster@" + r.helo : r.sender;
  size_t at = sender.rfind('@');
  if (at == std::string::npos) sender = "postmaster@" + sender;
  else if (at == 0) sender = "postmaster" + sender;
  Evaluator e(r, dns, sender);
  v.domain = lowercase(sender.substr(sender.rfind('@') + 1));
  try {
    v.code = e.check_host(v.domain, v);
  } catch (const Abort& a) {
    v.code = a.code;
    v.problem = a.why;
    v.mechanism.clear();
    v.explanation.clear();
  }
  v.lookups = e.lookups();
  return v;
}

}  // namespace quail::spf
