// DMARC: see dmarc.hpp. Section numbers are RFC 7489's.
#include "dmarc.hpp"

#include <algorithm>

#include "address.hpp"
#include "headers.hpp"

namespace quail::dmarc {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<Policy> parse_policy(std::string_view v) {
  std::string l = lowercase(v);
  if (l == "none") return Policy::none;
  if (l == "quarantine") return Policy::quarantine;
  if (l == "reject") return Policy::reject;
  return std::nullopt;
}

// 3.1.1 / 3.1.2: strict needs the same name; relaxed the same organisational domain.
bool aligned(const std::string& a, const std::string& from, bool strict, const PublicSuffixList& psl) {
  if (a.empty()) return false;
  if (strict) return a == from;
  return psl.organizational_domain(a) == psl.organizational_domain(from);
}

// 6.6.3: the one DMARC record of name; nullopt when none, throws nothing.
Lookup find_record(const std::string& name, const TxtLookup& txt, std::optional<Record>& out) {
  std::vector<std::string> txts;
  Lookup l = txt(name, txts);
  if (l != Lookup::ok) return l;
  int n = 0;
  for (const auto& t : txts) {
    if (auto r = parse_record(t)) {
      out = r;
      ++n;
    } else if (lowercase(trim(t).substr(0, 8)) == "v=dmarc1") {
      ++n;  // a malformed DMARC record still makes the set ambiguous
    }
  }
  if (n != 1) out.reset();  // several records: none applies (6.6.3 step 5)
  return out ? Lookup::ok : Lookup::none;
}

Verdict evaluate_one(const std::string& from, const Input& in, const PublicSuffixList& psl, const TxtLookup& txt,
                     const std::function<int()>& sample) {
  Verdict v;
  v.domain = from;
  std::optional<Record> rec;
  Lookup l = find_record("_dmarc." + from, txt, rec);
  std::string org = psl.organizational_domain(from);
  bool at_org = false;
  if (l == Lookup::none && org != from) {
    l = find_record("_dmarc." + org, txt, rec);
    at_org = true;
  }
  if (l == Lookup::temporary) {
    v.code = Code::temperror;
    v.reason = "DNS failure looking up the DMARC record";
    return v;
  }
  if (!rec) {
    v.reason = "no DMARC record";
    return v;
  }
  v.policy = at_org && rec->sp ? *rec->sp : rec->p;
  bool spf_ok = in.spf == spf::Code::pass && aligned(lowercase(in.spf_domain), from, rec->strict_spf, psl);
  bool dkim_ok = std::any_of(in.dkim.begin(), in.dkim.end(), [&](const DkimResult& d) {
    return d.pass && aligned(lowercase(d.domain), from, rec->strict_dkim, psl);
  });
  if (spf_ok || dkim_ok) {
    v.code = Code::pass;
    v.reason = spf_ok ? "SPF aligned" : "DKIM aligned";
    return v;
  }
  v.code = Code::fail;
  v.reason = "neither SPF nor DKIM aligned with the From domain";
  v.disposition = v.policy;
  // 6.6.4: outside the pct sample the next milder policy applies.
  if (rec->pct < 100 && v.policy != Policy::none && sample() >= rec->pct) {
    v.disposition = v.policy == Policy::reject ? Policy::quarantine : Policy::none;
  }
  return v;
}

int rank(const Verdict& v) {
  switch (v.code) {
    case Code::fail: return 10 + static_cast<int>(v.disposition);
    case Code::temperror: return 5;
    case Code::permerror: return 4;
    case Code::none: return 1;
    case Code::pass: return 2;
  }
  return 0;
}

}  // namespace

std::string_view policy_name(Policy p) {
  switch (p) {
    case Policy::none: return "none";
    case Policy::quarantine: return "quarantine";
    case Policy::reject: return "reject";
  }
  return "none";
}

std::string_view code_name(Code c) {
  switch (c) {
    case Code::none: return "none";
    case Code::pass: return "pass";
    case Code::fail: return "fail";
    case Code::temperror: return "temperror";
    case Code::permerror: return "permerror";
  }
  return "none";
}

std::optional<Record> parse_record(std::string_view txt) {
  Record r;
  bool first = true, have_p = false, bad_p = false, rua = false;
  size_t pos = 0;
  while (pos <= txt.size()) {
    size_t semi = txt.find(';', pos);
    if (semi == std::string_view::npos) semi = txt.size();
    std::string_view part = trim(txt.substr(pos, semi - pos));
    pos = semi + 1;
    if (part.empty()) {
      if (first) return std::nullopt;
      continue;
    }
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string tag = lowercase(trim(part.substr(0, eq)));
    std::string_view value = trim(part.substr(eq + 1));
    if (first) {
      // 6.3: "v=DMARC1" must come first, exactly.
      if (tag != "v" || value != "DMARC1") return std::nullopt;
      first = false;
      continue;
    }
    if (tag == "p" || tag == "sp") {
      auto p = parse_policy(value);
      if (tag == "p") {
        have_p = true;
        if (p) r.p = *p;
        else bad_p = true;
      } else if (p) {
        r.sp = p;
      }
    } else if (tag == "pct") {
      if (value.empty() || value.size() > 3) return std::nullopt;
      int n = 0;
      for (char c : value) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + (c - '0');
      }
      if (n > 100) return std::nullopt;
      r.pct = n;
    } else if (tag == "adkim" || tag == "aspf") {
      std::string v = lowercase(value);
      if (v != "r" && v != "s") return std::nullopt;
      (tag == "adkim" ? r.strict_dkim : r.strict_spf) = v == "s";
    } else if (tag == "rua") {
      rua = !value.empty();
    }
    if (semi == txt.size()) break;
  }
  if (first) return std::nullopt;
  // 6.6.3 step 6: a missing or invalid p is p=none when reports are asked for.
  if (!have_p || bad_p) {
    if (!rua) return std::nullopt;
    r.p = Policy::none;
  }
  return r;
}

Verdict evaluate(const Input& in, const PublicSuffixList& psl, const TxtLookup& txt, const std::function<int()>& sample) {
  if (!in.from_ok || in.from_domains.empty()) {
    Verdict v;
    v.code = Code::permerror;
    v.reason = "no single From field with a domain (RFC 7489 6.6.1)";
    return v;
  }
  // Several authors' domains: each is judged and the severest verdict stands, so
  // a forged author cannot hide behind a second, aligned one.
  Verdict worst;
  bool any = false;
  for (const auto& d : in.from_domains) {
    Verdict v = evaluate_one(d, in, psl, txt, sample);
    if (!any || rank(v) > rank(worst)) worst = v;
    any = true;
  }
  return worst;
}

bool from_domains(std::string_view header_section, std::vector<std::string>& out) {
  auto fields = parse_header(header_section);
  if (!fields) return false;
  const HeaderField* from = nullptr;
  for (const auto& f : *fields) {
    if (!f.is("From")) continue;
    if (from) return false;  // 6.6.1: several From fields
    from = &f;
  }
  if (!from) return false;
  auto boxes = parse_address_list(from->value());
  if (!boxes) return false;
  for (const auto& b : *boxes) {
    size_t at = b.address.rfind('@');
    if (at == std::string::npos || at + 1 == b.address.size()) return false;
    std::string d = lowercase(b.address.substr(at + 1));
    if (!d.empty() && d.front() == '[') return false;  // an address literal has no policy
    if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
  }
  return !out.empty();
}

}  // namespace quail::dmarc
