// libunbound lookups: see dns_resolver.hpp. remote-deliver's, where one context
// serves a kept run of many deliveries and the validator is there for DANE.
#include "dns_resolver.hpp"

#include <unbound.h>

namespace quail::dns {
namespace {

constexpr int type_ptr = 12;
constexpr int type_a = 1, type_mx = 15, type_txt = 16, type_aaaa = 28, class_in = 1;
constexpr int rcode_servfail = 2, rcode_nxdomain = 3;

struct UbResult {
  ub_result* r = nullptr;
  ~UbResult() {
    if (r) ub_resolve_free(r);
  }
};

DnsStatus query(ub_ctx* ctx, const std::string& name, int type, UbResult& res, std::string& why) {
  int err = ub_resolve(ctx, name.c_str(), type, class_in, &res.r);
  if (err != 0) {
    why = std::string("DNS lookup failed: ") + ub_strerror(err);
    return DnsStatus::temporary;
  }
  if (res.r->rcode == rcode_nxdomain || res.r->nxdomain) return DnsStatus::nxdomain;
  if (res.r->rcode != 0) {
    why = res.r->rcode == rcode_servfail ? "DNS server failure (SERVFAIL)" : "DNS error rcode " + std::to_string(res.r->rcode);
    return DnsStatus::temporary;
  }
  if (res.r->bogus) {
    why = "DNS answer failed validation";
    return DnsStatus::temporary;
  }
  return res.r->havedata ? DnsStatus::ok : DnsStatus::nodata;
}

}  // namespace

struct Resolver::Impl {
  ub_ctx* ctx;
};

Result<Resolver> Resolver::create(const std::vector<std::string>& servers) {
  ub_ctx* ctx = ub_ctx_create();
  if (!ctx) return Error{ErrorKind::temporary, "unable to create a DNS resolver"};
  Resolver r(new Impl{ctx});
  if (servers.empty()) {
    if (int e = ub_ctx_resolvconf(ctx, nullptr); e != 0) {
      return Error{ErrorKind::temporary, std::string("unable to read /etc/resolv.conf: ") + ub_strerror(e)};
    }
    return r;
  }
  // libunbound refuses to ask 127.0.0.0/8 and ::1 unless told: a local resolver
  // (dnsmasq, unbound, systemd-resolved on 127.0.0.53) is the usual set-up.
  ub_ctx_set_option(ctx, "do-not-query-localhost:", "no");
  // The reverse zones of private and link-local addresses (RFC 6303) go to the
  // servers named like any other name, as the site's own resolver knows them:
  // libunbound would otherwise build ~40 local zones from text in every context,
  // a fifth of a mailauth or dnsbl start (3.1 -> 2.4 ms, 332 -> 289 page faults;
  // bench/README.md). Only an SPF ptr check of a private client asks such names.
  ub_ctx_set_option(ctx, "unblock-lan-zones:", "yes");
  for (const auto& s : servers) {
    if (int e = ub_ctx_set_fwd(ctx, s.c_str()); e != 0) {
      return Error{ErrorKind::config, "unable to use DNS server " + s + ": " + ub_strerror(e)};
    }
  }
  // libunbound answers some special-use names itself with NXDOMAIN (test. of
  // RFC 6761, home.arpa. of RFC 8375); servers the administrator names are asked
  // about them too, as a site's own resolver would be. (This ends the context's
  // configuration, so it comes last.)
  for (const char* zone : {"test.", "home.arpa."}) ub_ctx_zone_add(ctx, zone, "transparent");
  return r;
}

Resolver::~Resolver() {
  if (!impl_) return;
  ub_ctx_delete(impl_->ctx);
  delete impl_;
}

DnsStatus Resolver::mx(const std::string& domain, std::vector<MxRecord>& out, std::string& why) {
  UbResult res;
  DnsStatus st = query(impl_->ctx, domain, type_mx, res, why);
  if (st != DnsStatus::ok) return st;
  for (int i = 0; res.r->data[i]; ++i) {
    // A malformed record is skipped.
    if (auto m = parse_mx_rdata(std::string_view(res.r->data[i], static_cast<size_t>(res.r->len[i])))) {
      out.push_back(std::move(*m));
    }
  }
  if (out.empty()) {
    why = "malformed MX records";
    return DnsStatus::temporary;
  }
  return DnsStatus::ok;
}

DnsStatus Resolver::txt(const std::string& name, std::vector<std::string>& out, std::string& why) {
  UbResult res;
  DnsStatus st = query(impl_->ctx, name, type_txt, res, why);
  if (st != DnsStatus::ok) return st;
  for (int i = 0; res.r->data[i]; ++i) {
    if (auto t = parse_txt_rdata(std::string_view(res.r->data[i], static_cast<size_t>(res.r->len[i])))) {
      out.push_back(std::move(*t));
    }
  }
  return out.empty() ? DnsStatus::nodata : DnsStatus::ok;
}

DnsStatus Resolver::address_records(const std::string& host, bool v6, std::vector<std::string>& out,
                                     std::string& why) {
  UbResult res;
  DnsStatus st = query(impl_->ctx, host, v6 ? type_aaaa : type_a, res, why);
  if (st != DnsStatus::ok) return st;
  for (int i = 0; res.r->data[i]; ++i) {
    std::string_view rdata(res.r->data[i], static_cast<size_t>(res.r->len[i]));
    if (rdata.size() != (v6 ? 16u : 4u)) continue;
    if (auto a = parse_address_rdata(rdata)) out.push_back(std::move(*a));
  }
  return out.empty() ? DnsStatus::nodata : DnsStatus::ok;
}

DnsStatus Resolver::ptr(const std::string& ip, std::vector<std::string>& out, std::string& why) {
  auto name = reverse_dns_name(ip);
  if (!name) {
    why = "not an IP address: " + ip;
    return DnsStatus::nxdomain;
  }
  UbResult res;
  DnsStatus st = query(impl_->ctx, *name, type_ptr, res, why);
  if (st != DnsStatus::ok) return st;
  for (int i = 0; res.r->data[i]; ++i) {
    auto n = decode_dns_name(std::string_view(res.r->data[i], static_cast<size_t>(res.r->len[i])));
    if (n && !n->empty()) out.push_back(std::move(*n));
  }
  return out.empty() ? DnsStatus::nodata : DnsStatus::ok;
}

}  // namespace quail::dns
