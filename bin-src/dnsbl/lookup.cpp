// DNSBL/DNSWL lookups on a worker thread with a deadline: see lookup.hpp.
#include "lookup.hpp"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "dns_resolver.hpp"

namespace quail::dnsbl {
namespace {

// What the worker and the waiting main thread share. The worker may outlive
// the wait (it is then abandoned and ended by exec), so it is held by both.
struct Shared {
  std::mutex m;
  std::condition_variable done_cv;
  bool done = false;
  Verdict v;
};

// Whether ip is listed in l; its TXT reason in text. trouble set on a temporary failure.
bool listed(dns::Resolver& r, const std::string& ip, const DnsList& l, std::string& text, std::string& trouble) {
  auto name = dnsbl_query_name(ip, l.zone);
  if (!name) return false;
  std::vector<std::string> addrs;
  std::string why;
  // A list answers with A records (RFC 5782 2.1), for IPv6 clients too: no AAAA query.
  if (r.address_records(*name, false, addrs, why) == dns::DnsStatus::temporary) trouble = l.zone + ": " + why;
  bool hit = false;
  for (const auto& a : addrs) hit = hit || dnsbl_answer_lists(l, a);
  if (!hit) return false;
  std::vector<std::string> txt;
  r.txt(*name, txt, why);
  text = txt.empty() ? "listed by " + l.zone : txt[0];
  return true;
}

void work(std::shared_ptr<Shared> sh, std::vector<std::string> servers, std::string ip, std::vector<DnsList> allow,
          std::vector<DnsList> block) {
  Verdict v;
  auto r = dns::Resolver::create(servers);
  if (!r) {
    v.trouble = r.error().reason;
  } else {
    for (const auto& l : allow) {
      std::string text;
      if (listed(*r, ip, l, text, v.trouble)) {
        v.allow.push_back({l.zone, text});
        break;
      }
    }
    for (size_t i = 0; v.allow.empty() && i < block.size(); ++i) {
      std::string text;
      if (listed(*r, ip, block[i], text, v.trouble)) {
        v.block.push_back({block[i].zone, text});
        break;
      }
    }
  }
  std::lock_guard lk(sh->m);
  sh->v = std::move(v);
  sh->done = true;
  sh->done_cv.notify_one();
}

}  // namespace

Verdict look_up(const std::vector<std::string>& servers, const std::string& ip, const std::vector<DnsList>& allow,
                const std::vector<DnsList>& block, int timeout_ms) {
  auto sh = std::make_shared<Shared>();
  std::thread(work, sh, servers, ip, allow, block).detach();
  std::unique_lock lk(sh->m);
  if (!sh->done_cv.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return sh->done; })) {
    Verdict v;
    v.timed_out = true;
    return v;
  }
  return sh->v;
}

}  // namespace quail::dnsbl
