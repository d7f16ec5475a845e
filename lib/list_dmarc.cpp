// A list post's From rewrite for DMARC: see list_dmarc.hpp.
#include "list_dmarc.hpp"

#include <algorithm>

#include "address.hpp"

namespace quail::list {
namespace {

// An RFC 2047 encoded-word as it may stand in a phrase (5(3)): =?charset?B|Q?text?=
// with only letters, digits and !*+-/=_ in the text, so writing it unquoted
// cannot add a special (",", "<", a quote) to the From field.
bool encoded_word(std::string_view t) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (t.size() < 8 || t.substr(0, 2) != "=?" || t.substr(t.size() - 2) != "?=") return false;
  std::string_view inner = t.substr(2, t.size() - 4);
  size_t q1 = inner.find('?');
  if (q1 == std::string_view::npos || q1 == 0 || q1 + 2 >= inner.size() || inner[q1 + 2] != '?') return false;
  char enc = inner[q1 + 1];
  if (enc != 'b' && enc != 'B' && enc != 'q' && enc != 'Q') return false;
  std::string_view charset = inner.substr(0, q1), text = inner.substr(q1 + 3);
  bool ok_charset = std::all_of(charset.begin(), charset.end(),
                                [&](char c) { return alnum(c) || c == '-' || c == '_' || c == '.' || c == '*'; });
  bool ok_text = !text.empty() && std::all_of(text.begin(), text.end(), [&](char c) {
    return alnum(c) || std::string_view("!*+-/=_").find(c) != std::string_view::npos;
  });
  return ok_charset && ok_text;
}

// "<name> via <list>" as a phrase. Encoded-words must stay outside quoted strings
// (RFC 2047 5) to be decoded, so they are written as they are and only the text
// between them is quoted when it needs to be.
std::string via_phrase(std::string_view name, std::string_view list) {
  std::string text = std::string(name) + " via " + std::string(list);
  std::replace(text.begin(), text.end(), '\t', ' ');
  std::string out, plain;
  auto add = [&out](const std::string& part) { out += (out.empty() ? "" : " ") + part; };
  auto flush = [&] {
    if (!plain.empty()) add(format_display_name(plain));
    plain.clear();
  };
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(' ', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view tok = std::string_view(text).substr(pos, end - pos);
    pos = end + 1;
    if (tok.empty()) continue;
    if (encoded_word(tok)) {
      flush();
      add(std::string(tok));
    } else {
      plain += (plain.empty() ? "" : " ") + std::string(tok);
    }
  }
  flush();
  return out;
}

// The name the new From shows for the author: the display name, else the local
// part; never an address (a second domain in From is a spam signal).
std::string author_name(const std::string& display, const std::string& address) {
  std::string n = display.empty() ? address.substr(0, address.rfind('@')) : display;
  size_t at = n.find('@');
  if (at != std::string::npos) n.resize(at);
  while (!n.empty() && (n.back() == ' ' || n.back() == '\t')) n.pop_back();
  return n.empty() ? "someone" : n;
}

bool has_address(const std::vector<Mailbox>& boxes, const std::string& a) {
  return std::any_of(boxes.begin(), boxes.end(), [&](const Mailbox& b) { return lowercase(b.address) == lowercase(a); });
}

}  // namespace

Authors authors(std::string_view header_section) {
  Authors a;
  a.single_from = dmarc::from_domains(header_section, a.domains);
  return a;
}

AuthorPolicy author_policy(const std::vector<std::string>& domains, const PublicSuffixList& psl,
                           const dmarc::TxtLookup& txt) {
  AuthorPolicy out;
  for (const auto& d : domains) {
    // With no SPF or DKIM result to align, a domain with a record fails and the
    // verdict carries the policy that applies to it (p, or sp at the organisational
    // domain); no sampling: pct= is the receiver's business.
    dmarc::Input in;
    in.from_domains = {d};
    dmarc::Verdict v = dmarc::evaluate(in, psl, txt, [] { return 0; });
    if (v.code == dmarc::Code::temperror) {
      if (out.domain.empty()) out.domain = d;  // a policy found later names its own domain
      out.temporary = true;
    } else if (v.code == dmarc::Code::fail && static_cast<int>(v.policy) > static_cast<int>(out.policy)) {
      out.policy = v.policy;
      out.domain = d;
    }
  }
  return out;
}

bool needs_policy(const ListConfig& cfg, const Authors& a) {
  if (cfg.from_rewrite != FromRewrite::dmarc || !a.single_from) return false;
  std::string own = lowercase(cfg.domain());
  return std::any_of(a.domains.begin(), a.domains.end(), [&](const std::string& d) { return d != own; });
}

std::string rewrite_reason(const ListConfig& cfg, const Authors& a, const AuthorPolicy* p) {
  switch (cfg.from_rewrite) {
    case FromRewrite::never: return "";
    case FromRewrite::always: return "from_rewrite=always";
    case FromRewrite::dmarc: break;
  }
  if (!a.single_from) return "no single From with a domain";
  if (!p) return "";
  if (p->policy != dmarc::Policy::none) return p->domain + " p=" + std::string(dmarc::policy_name(p->policy));
  if (p->temporary) return "the DMARC policy of " + p->domain + " is unknown (DNS failure)";
  return "";
}

std::vector<HeaderField> rewrite_from(const ListConfig& cfg, const std::vector<HeaderField>& fields,
                                      std::string_view envelope_sender) {
  const HeaderField* from = nullptr;
  int froms = 0;
  const HeaderField* reply_to = nullptr;
  for (const auto& f : fields) {
    if (f.is("From")) from = froms++ ? nullptr : &f;
    if (f.is("Reply-To") && !reply_to) reply_to = &f;
  }
  std::vector<Mailbox> boxes;
  std::string author_value;  // the author as Reply-To gets it
  if (from) {
    auto parsed = parse_address_list(from->value());
    if (parsed && !parsed->empty() && parsed->front().address.find('@') != std::string::npos) {
      boxes = std::move(*parsed);
      author_value = from->value();
    }
  }
  std::string sender(envelope_sender);
  if (boxes.empty() && !sender.empty() && sender != "#@[]") {
    boxes.push_back(Mailbox{"", sender, 0});
    author_value = sender;
  }
  std::string name = boxes.empty() ? std::string("someone") : author_name(boxes[0].display_name, boxes[0].address);
  HeaderField new_from{"From", "From: " + via_phrase(name, cfg.local()) + " <" + cfg.address + ">\n"};

  std::vector<HeaderField> reply;
  if (!author_value.empty()) {
    if (!reply_to) {
      reply.push_back({"Reply-To", "Reply-To: " + author_value + "\n"});
    } else {
      auto kept = parse_address_list(reply_to->value());
      bool missing = !kept || std::any_of(boxes.begin(), boxes.end(),
                                          [&](const Mailbox& b) { return !has_address(*kept, b.address); });
      reply.push_back({"Reply-To", missing ? "Reply-To: " + reply_to->value() + ", " + author_value + "\n"
                                           : reply_to->raw});
    }
  }

  std::vector<HeaderField> out;
  bool placed = false;
  auto place = [&] {
    out.push_back(new_from);
    out.insert(out.end(), reply.begin(), reply.end());
    placed = true;
  };
  for (const auto& f : fields) {
    if (f.is("From")) {
      if (!placed) place();
    } else if (&f == reply_to && !reply.empty()) {
      continue;  // written beside the new From
    } else {
      out.push_back(f);
      // A header section cut without its last line end: the fields added after it need one.
      if (out.back().raw.empty() || out.back().raw.back() != '\n') out.back().raw += '\n';
    }
  }
  if (!placed) place();
  return out;
}

}  // namespace quail::list
