// DMARC (RFC 7489): the policy record (6.3, tests/fuzz/dmarc_record_fuzz.cpp),
// its discovery at the From domain or its organisational domain (6.6.3), and the
// verdict from SPF's and DKIM's results and their alignment with the From domain
// (3.1), with p/sp/pct (6.6.4). Takes the SPF and DKIM results as plain inputs:
// whoever verified them, this file only aligns and applies the policy.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "psl.hpp"
#include "spf.hpp"

namespace quail::dmarc {

enum class Policy { none, quarantine, reject };
std::string_view policy_name(Policy p);

struct Record {
  Policy p = Policy::none;
  std::optional<Policy> sp;
  int pct = 100;
  bool strict_dkim = false;  // adkim=s
  bool strict_spf = false;   // aspf=s
};

// Parses a TXT record: "v=DMARC1" first, then tag=value pairs separated by ";".
// nullopt when it is not a DMARC record or a known tag's value is invalid
// (an invalid p with a rua= is p=none, 6.6.3). Unknown tags are ignored.
std::optional<Record> parse_record(std::string_view txt);

// One DKIM signature's outcome, as a verifier reports it.
struct DkimResult {
  bool pass = false;
  std::string domain;  // d=
};

enum class Code { none, pass, fail, temperror, permerror };
std::string_view code_name(Code c);

struct Input {
  std::vector<std::string> from_domains;  // the From field's domains (see from_domains())
  bool from_ok = true;                    // false: no From field, several, or unparseable
  spf::Code spf = spf::Code::none;
  std::string spf_domain;  // the MAIL FROM (or HELO) domain SPF checked
  std::vector<DkimResult> dkim;
};

struct Verdict {
  Code code = Code::none;
  std::string domain;        // the From domain judged (the failing one when several)
  Policy policy = Policy::none;       // the published policy that applies (p or sp)
  Policy disposition = Policy::none;  // what to do after pct sampling
  std::string reason;
};

// TXT lookups of "_dmarc.<domain>" names: ok, none found, or a DNS failure.
enum class Lookup { ok, none, temporary };
using TxtLookup = std::function<Lookup(const std::string& name, std::vector<std::string>& out)>;

// The verdict; sample() returns 0..99 for pct (a random draw in production).
Verdict evaluate(const Input& in, const PublicSuffixList& psl, const TxtLookup& txt, const std::function<int()>& sample);

// RFC 7489 6.6.1 from the message's header section: the domains of the one From
// field's mailboxes (lowercased, duplicates removed); false when there is no From
// field, more than one, or it holds no mailbox with a domain.
bool from_domains(std::string_view header_section, std::vector<std::string>& out);

}  // namespace quail::dmarc
