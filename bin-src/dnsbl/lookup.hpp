// The DNS lookups of one connection, bounded by one deadline: they run on a
// worker thread, and what is not answered by the deadline counts as not listed
// (fail-open: a dead DNS server never blocks mail). exec() ends the worker.
#pragma once
#include <string>
#include <vector>

#include "dnsbl.hpp"

namespace quail::dnsbl {

struct Listing {
  std::string zone;
  std::string text;  // the zone's TXT record, or a reason of our own when it has none
};

struct Verdict {
  std::vector<Listing> allow;  // dnswl zones that list the client (the first one is enough)
  std::vector<Listing> block;  // dnsbl zones that list it (the first one found is reported)
  bool timed_out = false;
  std::string trouble;  // a lookup's temporary failure, for the log
};

// Looks ip up in the allowlists first (a listed client is not checked further),
// then in the blocklists, stopping at the first listing; at most timeout_ms in all.
Verdict look_up(const std::vector<std::string>& servers, const std::string& ip, const std::vector<DnsList>& allow,
                const std::vector<DnsList>& block, int timeout_ms);

}  // namespace quail::dnsbl
