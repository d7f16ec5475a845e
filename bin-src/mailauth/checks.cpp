// mailauth's checks: see checks.hpp.
#include "checks.hpp"

#include <cerrno>
#include <ctime>
#include <sys/random.h>
#include <unistd.h>

#include "auth_results.hpp"
#include "control.hpp"
#include "dkim.hpp"
#include "headers.hpp"
#include "log.hpp"

namespace quail::mailauth {
namespace {

Result<bool> flag(const Control& c, std::string_view name) {
  auto v = c.integer(name);
  if (!v) return v.error();
  return *v != 0;
}

// The whole message from fd (a memfd smtpd spooled it to), from its start.
Result<std::string> read_all(int fd) {
  std::string out;
  char buf[65536];
  for (off_t off = 0;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error(ErrorKind::temporary, "read the spooled message");
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
}

// DKIM results for DMARC (a pass counts with its d=) and Authentication-Results
// (every signature checked, lib/dkim's verdict names).
void verify_dkim(const std::string& message, dns::Resolver& resolver, std::vector<dmarc::DkimResult>& for_dmarc,
                 std::vector<AuthSummary::Dkim>& for_header) {
  dkim::TxtLookup lookup = [&resolver](const std::string& name, std::vector<std::string>& out, std::string& why) {
    return resolver.txt(name, out, why);
  };
  for (const dkim::VerifyResult& r : dkim::verify(message, lookup)) {
    for_dmarc.push_back({r.status == dkim::Status::pass, r.domain});
    for_header.push_back({std::string(dkim::status_name(r.status)), r.domain, r.selector});
  }
}

std::vector<std::string> answer(const char* action, int code, const char* enhanced, const std::string& text) {
  return {action, std::to_string(code), enhanced, text};
}

}  // namespace

Result<Policy> load_policy(const std::string& root) {
  Control c(root);
  Policy p;
  auto me = c.line("me");
  if (!me) return me.error();
  p.me = *me;
  auto id = c.line("authservid");
  if (!id) return id.error();
  p.authserv_id = *id;
  for (auto [name, slot] : {std::pair{"spfreject", &p.spf_reject}, {"spftempfail", &p.spf_tempfail},
                            {"spfreceived", &p.spf_received}, {"dmarcreject", &p.dmarc_reject},
                            {"dmarcquarantine", &p.dmarc_quarantine}}) {
    auto v = flag(c, name);
    if (!v) return v.error();
    *slot = *v;
  }
  auto psl = c.line("publicsuffix");
  if (!psl) return psl.error();
  p.psl_path = *psl;
  auto servers = c.list("dnsservers");
  if (!servers) return servers.error();
  p.dns_servers = *servers;
  return p;
}

const PublicSuffixList& Checker::psl() {
  if (!psl_) {
    auto l = PublicSuffixList::load(p_.psl_path);
    if (!l) {
      // Without the list every name's organisational domain is its last two labels.
      log_warn({{"event", "config"}, {"reason", l.error().reason}});
      psl_ = PublicSuffixList::parse("");
    } else {
      psl_ = std::move(*l);
    }
  }
  return *psl_;
}

spf::Verdict Checker::check_spf(const std::string& ip, const std::string& sender, const std::string& helo) {
  spf::Request r;
  auto addr = spf::IpAddress::parse(ip);
  spf::Verdict v;
  if (!addr) {
    v.code = spf::Code::none;
    v.problem = "no client address";
    return v;
  }
  r.ip = *addr;
  r.sender = sender;
  r.helo = helo;
  r.receiver = p_.me;
  r.now = std::time(nullptr);
  return spf::check(r, dns_);
}

std::vector<std::string> Checker::spf(const std::vector<std::string>& req) {
  if (req.size() != 4) return answer("accept", 250, "2.1.0", "");
  ip_ = req[1];
  helo_ = req[2];
  sender_ = req[3];
  spf_helo_ = sender_.empty();
  spf_ = check_spf(ip_, sender_, helo_);
  std::vector<std::string> a;
  std::string detail = !spf_.problem.empty() ? spf_.problem : spf_.mechanism;
  if (spf_.code == spf::Code::fail && p_.spf_reject) {
    std::string why = spf_.explanation.empty() ? "SPF of " + spf_.domain + " does not allow " + ip_ + " to send its mail"
                                               : "SPF: " + spf_.explanation;
    a = answer("reject", 550, "5.7.23", why);
  } else if (spf_.code == spf::Code::temperror && p_.spf_tempfail) {
    a = answer("defer", 451, "4.7.24", "temporary error checking SPF of " + spf_.domain + ", try again later");
  } else {
    a = answer("accept", 250, "2.1.0", "");
  }
  a.insert(a.end(), {std::string(spf::code_name(spf_.code)), spf_.domain, detail});
  return a;
}

std::vector<std::string> Checker::message(int fd) {
  auto msg = read_all(fd);
  AuthSummary s;
  s.authserv_id = p_.authserv_id;
  s.spf = spf_.code;
  s.spf_domain = spf_.domain;
  s.spf_helo = spf_helo_;
  dmarc::Input in;
  in.spf = spf_.code;
  in.spf_domain = spf_.domain;
  std::string text = msg ? *msg : "";
  verify_dkim(text, dns_.resolver(), in.dkim, s.dkim);
  HeaderSplit split = split_message(text);
  in.from_ok = dmarc::from_domains(std::string_view(text).substr(0, split.header_end), in.from_domains);
  s.dmarc = dmarc::evaluate(
      in, psl(), [this](const std::string& n, std::vector<std::string>& out) { return dns_.dmarc_txt(n, out); },
      [] {
        // pct sampling needs no more than the kernel's random bytes (and so no libsodium at start).
        uint32_t r = 0;
        if (::getrandom(&r, sizeof r, 0) != sizeof r) return 0;
        return static_cast<int>(r % 100);
      });
  std::string prepend = authentication_results(s);
  if (p_.spf_received) prepend += received_spf(spf_, p_.me, ip_, sender_, helo_);
  std::vector<std::string> a = answer("accept", 250, "2.0.0", "");
  const dmarc::Verdict& d = s.dmarc;
  if (d.code == dmarc::Code::fail && d.disposition == dmarc::Policy::reject && p_.dmarc_reject) {
    a = answer("reject", 550, "5.7.1", "DMARC policy of " + d.domain + " rejects this message (not authenticated)");
  } else if (d.code == dmarc::Code::fail && d.disposition != dmarc::Policy::none && p_.dmarc_quarantine) {
    prepend += "X-Quail-Quarantine: dmarc " + d.domain + " p=" + std::string(dmarc::policy_name(d.policy)) + "\n";
  }
  std::string drops;
  for (auto [off, len] : forged_fields(text, p_.authserv_id)) {
    if (!drops.empty()) drops += ' ';
    drops += std::to_string(off) + "," + std::to_string(len);
  }
  a.insert(a.end(), {prepend, drops, std::string(dmarc::code_name(d.code)), d.domain,
                     std::string(dmarc::policy_name(d.policy)), std::string(dmarc::policy_name(d.disposition))});
  return a;
}

}  // namespace quail::mailauth
