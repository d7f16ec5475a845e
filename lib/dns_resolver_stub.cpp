// c-ares lookups: see dns_resolver.hpp. A stub resolver: every query goes to the
// servers named (or /etc/resolv.conf's) with a random id from a random source
// port, truncated answers are asked again over TCP (c-ares does both), and the
// answer's records are read by c-ares's own parsers, then checked here as the
// libunbound implementation checks its records.
#include "dns_resolver.hpp"

#include <algorithm>
#include <ares.h>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <poll.h>

namespace quail::dns {
namespace {

constexpr int type_a = 1, type_ptr = 12, type_mx = 15, type_txt = 16, type_aaaa = 28, class_in = 1;
// Per server and try; c-ares doubles it at each round of tries. Two tries of one
// server: an unanswered query is temporary after ~6 s, within what a client
// waits for a reply to MAIL or to the end of DATA.
constexpr int timeout_ms = 2000, tries = 2;

struct Answer {
  bool done = false;
  int status = ARES_SUCCESS;
  std::string bytes;
};

void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* a = static_cast<Answer*>(arg);
  a->done = true;
  a->status = status;
  if (abuf && alen > 0) a->bytes.assign(reinterpret_cast<const char*>(abuf), static_cast<size_t>(alen));
}

// "ip" or "ip@port" (control/dnsservers) as c-ares's "ip:port" or "[ip6]:port".
std::optional<std::string> server_csv_entry(const std::string& s) {
  std::string ip = s, port = "53";
  if (size_t at = s.find('@'); at != std::string::npos) {
    ip = s.substr(0, at);
    port = s.substr(at + 1);
  }
  unsigned char b[16];
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5) return std::nullopt;
  if (::inet_pton(AF_INET, ip.c_str(), b) == 1) return ip + ":" + port;
  if (::inet_pton(AF_INET6, ip.c_str(), b) == 1) return "[" + ip + "]:" + port;
  return std::nullopt;
}

// The status of a query's answer; *a holds the message when it is ok.
DnsStatus query(ares_channel ch, const std::string& name, int type, Answer& a, std::string& why) {
  ares_query(ch, name.c_str(), class_in, type, on_answer, &a);
  while (!a.done) {
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    int bits = ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
    pollfd p[ARES_GETSOCK_MAXNUM];
    nfds_t n = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short ev = static_cast<short>((ARES_GETSOCK_READABLE(bits, i) ? POLLIN : 0) |
                                    (ARES_GETSOCK_WRITABLE(bits, i) ? POLLOUT : 0));
      if (ev) p[n++] = pollfd{socks[i], ev, 0};
    }
    timeval tv{};
    timeval* left = ares_timeout(ch, nullptr, &tv);
    int ms = left ? static_cast<int>(tv.tv_sec * 1000 + tv.tv_usec / 1000) + 1 : timeout_ms;
    int r = ::poll(p, n, ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // the timeouts
      continue;
    }
    for (nfds_t i = 0; i < n; ++i) {
      bool in = p[i].revents & (POLLIN | POLLERR | POLLHUP), out = p[i].revents & POLLOUT;
      if (in || out) ares_process_fd(ch, in ? p[i].fd : ARES_SOCKET_BAD, out ? p[i].fd : ARES_SOCKET_BAD);
    }
  }
  switch (a.status) {
    case ARES_SUCCESS: return DnsStatus::ok;
    case ARES_ENODATA: return DnsStatus::nodata;
    case ARES_ENOTFOUND: return DnsStatus::nxdomain;
    case ARES_ESERVFAIL: why = "DNS server failure (SERVFAIL)"; return DnsStatus::temporary;
    // c-ares's word for "every server answered SERVFAIL or REFUSED, or none could be reached".
    case ARES_ECONNREFUSED: why = "no DNS server answered (SERVFAIL, REFUSED or unreachable)"; return DnsStatus::temporary;
    default: why = std::string("DNS lookup failed: ") + ares_strerror(a.status); return DnsStatus::temporary;
  }
}

const unsigned char* bytes_of(const Answer& a) { return reinterpret_cast<const unsigned char*>(a.bytes.data()); }
int size_of(const Answer& a) { return static_cast<int>(a.bytes.size()); }

// c-ares's parsers: ENODATA when the answer holds no record of the type (a
// CNAME alone), anything else a malformed message.
DnsStatus parsed(int status, std::string& why) {
  if (status == ARES_SUCCESS) return DnsStatus::ok;
  if (status == ARES_ENODATA) return DnsStatus::nodata;
  why = std::string("malformed DNS answer: ") + ares_strerror(status);
  return DnsStatus::temporary;
}

// A or AAAA records of the answer, as text.
DnsStatus address_list(const Answer& a, bool v6, std::vector<std::string>& out, std::string& why) {
  hostent* h = nullptr;
  int st = v6 ? ares_parse_aaaa_reply(bytes_of(a), size_of(a), &h, nullptr, nullptr)
              : ares_parse_a_reply(bytes_of(a), size_of(a), &h, nullptr, nullptr);
  if (DnsStatus s = parsed(st, why); s != DnsStatus::ok) return s;
  const size_t want = v6 ? 16 : 4;
  if (h && static_cast<size_t>(h->h_length) == want) {
    for (char** p = h->h_addr_list; p && *p; ++p) {
      if (auto t = parse_address_rdata(std::string_view(*p, want))) out.push_back(std::move(*t));
    }
  }
  if (h) ares_free_hostent(h);
  return out.empty() ? DnsStatus::nodata : DnsStatus::ok;
}

class Library {
 public:
  Library() : ok_(ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS) {}
  bool ok() const { return ok_; }

 private:
  bool ok_;
};

}  // namespace

struct Resolver::Impl {
  ares_channel ch;
};

Result<Resolver> Resolver::create(const std::vector<std::string>& servers) {
  static const Library library;
  if (!library.ok()) return Error{ErrorKind::temporary, "unable to start the DNS library"};
  ares_options opt{};
  // Names are asked as given: no search list, no /etc/hosts, EDNS0 so a DKIM key
  // rarely needs TCP.
  opt.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_EDNS;
  opt.lookups = const_cast<char*>("b");
  opt.timeout = timeout_ms;
  opt.tries = tries;
  opt.ednspsz = 1232;
  int mask = ARES_OPT_FLAGS | ARES_OPT_LOOKUPS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_EDNSPSZ;
  ares_channel ch;
  if (int e = ares_init_options(&ch, &opt, mask); e != ARES_SUCCESS) {
    return Error{ErrorKind::temporary, std::string("unable to create a DNS resolver: ") + ares_strerror(e)};
  }
  Resolver r(new Impl{ch});
  if (servers.empty()) return r;  // /etc/resolv.conf's, read by ares_init_options
  std::string csv;
  for (const auto& s : servers) {
    auto e = server_csv_entry(s);
    if (!e) return Error{ErrorKind::config, "unable to use DNS server " + s + ": not an address or address@port"};
    csv += (csv.empty() ? "" : ",") + *e;
  }
  if (int e = ares_set_servers_ports_csv(ch, csv.c_str()); e != ARES_SUCCESS) {
    return Error{ErrorKind::config, "unable to use DNS servers " + csv + ": " + ares_strerror(e)};
  }
  return r;
}

Resolver::~Resolver() {
  if (!impl_) return;
  ares_destroy(impl_->ch);
  delete impl_;
}

DnsStatus Resolver::mx(const std::string& domain, std::vector<MxRecord>& out, std::string& why) {
  Answer a;
  if (DnsStatus st = query(impl_->ch, domain, type_mx, a, why); st != DnsStatus::ok) return st;
  ares_mx_reply* list = nullptr;
  if (DnsStatus st = parsed(ares_parse_mx_reply(bytes_of(a), size_of(a), &list), why); st != DnsStatus::ok) return st;
  for (ares_mx_reply* m = list; m; m = m->next) {
    // A malformed host is skipped, as a malformed record is.
    if (auto host = checked_dns_name(m->host ? m->host : "")) out.push_back(MxRecord{m->priority, std::move(*host)});
  }
  ares_free_data(list);
  if (out.empty()) {
    why = "malformed MX records";
    return DnsStatus::temporary;
  }
  return DnsStatus::ok;
}

DnsStatus Resolver::txt(const std::string& name, std::vector<std::string>& out, std::string& why) {
  Answer a;
  if (DnsStatus st = query(impl_->ch, name, type_txt, a, why); st != DnsStatus::ok) return st;
  ares_txt_ext* list = nullptr;
  if (DnsStatus st = parsed(ares_parse_txt_reply_ext(bytes_of(a), size_of(a), &list), why); st != DnsStatus::ok) {
    return st;
  }
  // One entry per character-string; record_start marks each record's first.
  for (ares_txt_ext* t = list; t; t = t->next) {
    std::string_view chunk(reinterpret_cast<const char*>(t->txt), t->length);
    if (t->record_start || out.empty()) {
      out.emplace_back(chunk);
    } else {
      out.back().append(chunk);
    }
  }
  ares_free_data(list);
  return out.empty() ? DnsStatus::nodata : DnsStatus::ok;
}

DnsStatus Resolver::address_records(const std::string& host, bool v6, std::vector<std::string>& out,
                                     std::string& why) {
  Answer a;
  if (DnsStatus st = query(impl_->ch, host, v6 ? type_aaaa : type_a, a, why); st != DnsStatus::ok) return st;
  return address_list(a, v6, out, why);
}

DnsStatus Resolver::ptr(const std::string& ip, std::vector<std::string>& out, std::string& why) {
  auto name = reverse_dns_name(ip);
  if (!name) {
    why = "not an IP address: " + ip;
    return DnsStatus::nxdomain;
  }
  Answer a;
  if (DnsStatus st = query(impl_->ch, *name, type_ptr, a, why); st != DnsStatus::ok) return st;
  unsigned char addr[16];
  bool v6 = ip.find(':') != std::string::npos;
  if (::inet_pton(v6 ? AF_INET6 : AF_INET, ip.c_str(), addr) != 1) return DnsStatus::nxdomain;
  hostent* h = nullptr;
  int st = ares_parse_ptr_reply(bytes_of(a), size_of(a), addr, v6 ? 16 : 4, v6 ? AF_INET6 : AF_INET, &h);
  if (DnsStatus s = parsed(st, why); s != DnsStatus::ok) return s;
  // Every PTR target, in the answer's order: c-ares lists them in h_aliases
  // (h_name is the last of them again).
  auto add = [&](const char* n) {
    auto c = checked_dns_name(n ? n : "");
    if (c && !c->empty() && std::find(out.begin(), out.end(), *c) == out.end()) out.push_back(std::move(*c));
  };
  if (h) {
    for (char** p = h->h_aliases; p && *p; ++p) add(*p);
    add(h->h_name);
    ares_free_hostent(h);
  }
  return out.empty() ? DnsStatus::nodata : DnsStatus::ok;
}

}  // namespace quail::dns
