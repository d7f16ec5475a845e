// Authentication-Results and Received-SPF: see auth_results.hpp.
#include "auth_results.hpp"

#include "headers.hpp"

namespace quail {
namespace {

bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == '_' || c == '@' || c == '+';
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The authserv-id: the value's first word, after any comment, before ';' (RFC 8601 2.2).
std::string authserv_id_of(std::string_view value) {
  size_t i = 0;
  while (i < value.size()) {
    if (value[i] == ' ' || value[i] == '\t') {
      ++i;
    } else if (value[i] == '(') {
      int depth = 0;
      for (; i < value.size(); ++i) {
        if (value[i] == '(') ++depth;
        if (value[i] == ')' && --depth == 0) {
          ++i;
          break;
        }
      }
    } else {
      break;
    }
  }
  size_t end = i;
  while (end < value.size() && value[end] != ';' && value[end] != ' ' && value[end] != '\t' && value[end] != '(') ++end;
  std::string id(value.substr(i, end - i));
  if (id.size() >= 2 && id.front() == '"' && id.back() == '"') id = id.substr(1, id.size() - 2);
  return lowercase(id);
}

}  // namespace

std::string ar_value(std::string_view v) {
  bool plain = !v.empty();
  for (char c : v) plain = plain && token_char(c);
  if (plain) return std::string(v);
  std::string q = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') q += '\\';
    q += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  }
  return q + "\"";
}

std::string authentication_results(const AuthSummary& s) {
  std::string h = "Authentication-Results: " + s.authserv_id + ";\n\tspf=" + std::string(spf::code_name(s.spf));
  if (!s.spf_domain.empty()) h += (s.spf_helo ? " smtp.helo=" : " smtp.mailfrom=") + ar_value(s.spf_domain);
  if (s.dkim.empty()) h += ";\n\tdkim=none";
  for (const auto& d : s.dkim) {
    h += ";\n\tdkim=" + d.result;
    if (!d.domain.empty()) h += " header.d=" + ar_value(d.domain);
    if (!d.selector.empty()) h += " header.s=" + ar_value(d.selector);
  }
  h += ";\n\tdmarc=" + std::string(dmarc::code_name(s.dmarc.code));
  if (s.dmarc.code == dmarc::Code::pass || s.dmarc.code == dmarc::Code::fail) {
    h += " (p=" + std::string(dmarc::policy_name(s.dmarc.policy)) +
         " dis=" + std::string(dmarc::policy_name(s.dmarc.disposition)) + ")";
  }
  if (!s.dmarc.domain.empty()) h += " header.from=" + ar_value(s.dmarc.domain);
  return h + "\n";
}

std::string received_spf(const spf::Verdict& v, std::string_view receiver, std::string_view client_ip,
                         std::string_view sender, std::string_view helo) {
  std::string code(spf::code_name(v.code));
  std::string comment = std::string(receiver) + ": ";
  switch (v.code) {
    case spf::Code::pass: comment += "domain of " + v.domain + " designates " + std::string(client_ip) + " as permitted sender"; break;
    case spf::Code::fail:
    case spf::Code::softfail:
      comment += "domain of " + v.domain + " does not designate " + std::string(client_ip) + " as permitted sender";
      break;
    case spf::Code::none: comment += v.domain + " does not publish SPF"; break;
    case spf::Code::neutral: comment += v.domain + " makes no assertion about " + std::string(client_ip); break;
    default: comment += "error checking " + v.domain; break;
  }
  for (auto& c : comment) {
    if (c == '(' || c == ')' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '_';
  }
  std::string h = "Received-SPF: " + code + " (" + comment + ")\n\tclient-ip=" + std::string(client_ip) +
                  "; envelope-from=" + ar_value(sender.empty() ? "<>" : sender) + "; helo=" + ar_value(helo) + ";\n";
  return h;
}

std::vector<std::pair<size_t, size_t>> forged_fields(std::string_view message, std::string_view authserv_id) {
  std::vector<std::pair<size_t, size_t>> out;
  HeaderSplit split = split_message(message);
  auto fields = parse_header(message.substr(0, split.header_end));
  if (!fields) return out;
  std::string ours = lowercase(authserv_id);
  size_t offset = 0;
  for (const auto& f : *fields) {
    if ((f.is("Authentication-Results") && authserv_id_of(unfold(f.raw.substr(f.raw.find(':') + 1))) == ours) ||
        f.is("X-Quail-Quarantine")) {
      out.emplace_back(offset, f.raw.size());
    }
    offset += f.raw.size();
  }
  return out;
}

}  // namespace quail
