// One-click URLs of lists: see list_oneclick.hpp.
#include "list_oneclick.hpp"

#include "address.hpp"
#include "control.hpp"
#include "envelope.hpp"
#include "http_request.hpp"
#include "inject_client.hpp"

namespace quail::list {

std::optional<std::string> bad_lists_url(std::string_view url) {
  constexpr std::string_view scheme = "https://";
  if (url.substr(0, scheme.size()) != scheme) return "it does not start with https://";
  std::string_view rest = url.substr(scheme.size());
  for (unsigned char c : rest) {
    if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#' || c == '<' || c == '>' || c == '"' || c == '\\') {
      return "a space, control, quote, <, >, ?, # or non-ASCII character in the URL";
    }
  }
  std::string_view host = rest.substr(0, rest.find('/'));
  if (host.empty() || host.find('@') != std::string_view::npos) return "no host (or a user name) after https://";
  if (!rest.empty() && rest.back() == '/') return "the URL ends in '/': give the base without it";
  return std::nullopt;
}

Result<std::string> lists_url(const std::string& root) {
  // A list file (one value at most): a line file cannot be empty, and empty is the default.
  auto v = Control(root).list("listsurl");
  if (!v) return v.error();
  if (v->empty()) return std::string();
  if (v->size() > 1) return Error{ErrorKind::config, root + "/control/listsurl: more than one URL"};
  if (auto why = bad_lists_url(v->front())) return Error{ErrorKind::config, root + "/control/listsurl: " + *why};
  return v->front();
}

std::string one_click_address(const ListConfig& cfg, const ListSecret& key, std::string_view subscriber, int64_t when) {
  std::string a = cfg.address_for("oc." + make_cookie(key, "oc", subscriber, when) + "-" + encode_address(subscriber));
  return a.rfind('@') > max_local_part ? std::string() : a;
}

std::string one_click_url(std::string_view base, std::string_view address) {
  return std::string(base) + "/" + http::encode_segment(address);
}

std::string one_click_fields(const ListConfig& cfg, std::string_view url) {
  return "List-Unsubscribe: <" + std::string(url) + ">,\n <mailto:" + cfg.address_for("unsubscribe") + ">\n" +
         "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n";
}

std::optional<OneClickTarget> one_click_target(std::string_view segment) {
  auto a = parse_address(segment, false);
  if (!a || a->quoted()) return std::nullopt;
  std::string text = lowercase(a->str());
  std::string_view local = std::string_view(text).substr(0, text.rfind('@'));
  if (local.size() > max_local_part) return std::nullopt;
  // The list's own name may hold "-oc." too: any split that reads as a one-click
  // command will do, since list-manage's .qmail-<name>-default makes the real one.
  for (size_t at = local.find("-oc."); at != std::string_view::npos; at = local.find("-oc.", at + 1)) {
    if (at == 0) continue;
    auto cmd = parse_list_command(local.substr(at + 1));
    if (cmd.kind == ListCommandKind::one_click) {
      return OneClickTarget{text, std::string(local.substr(0, at)) + text.substr(text.rfind('@')), cmd.address};
    }
  }
  return std::nullopt;
}

Status inject_one_click_copies(const List& l, uint64_t n, std::string_view copy,
                               const std::vector<std::string>& subscribers, std::string_view base) {
  // The copy is cut once around its mailto: List-Unsubscribe line; each
  // subscriber's copy is the two pieces around that subscriber's own fields.
  size_t header_end = copy.find("\n\n");
  size_t at = copy.find("\nList-Unsubscribe: <mailto:");
  if (at == std::string_view::npos || at > header_end) {
    return Error{ErrorKind::temporary, "internal error: the list's copy has no List-Unsubscribe field"};
  }
  size_t line_end = copy.find('\n', at + 1) + 1;
  std::string_view head = copy.substr(0, at + 1), mailto = copy.substr(at + 1, line_end - at - 1),
                   tail = copy.substr(line_end);
  InjectSession session(l.cfg.root);
  const int64_t t = now();
  const std::string verp = "return-" + std::to_string(n) + "-";
  for (const auto& s : subscribers) {
    std::string address = one_click_address(l.cfg, l.secret, s, t);
    std::string fields = address.empty() ? std::string(mailto) : one_click_fields(l.cfg, one_click_url(base, address));
    Envelope env;
    env.sender = l.cfg.address_for(verp + encode_address(s));
    env.extra.emplace_back("origin", "list");  // signed for the list's domain, as inject() marks it
    env.recipients.push_back(Recipient{s, "", ""});
    int code = -1;
    auto out = session.inject([&](MessageSink& sink) { return sink.write(head) && sink.write(fields) && sink.write(tail); },
                              env, &code);
    if (!out) return Error{ErrorKind::temporary, out.error().reason};
    if (code == 0) continue;
    return Error{out->permanent ? ErrorKind::permanent : ErrorKind::temporary,
                 "the queue " + std::string(out->permanent ? "refused" : "deferred") + " the copy for " + s + ": " + out->text};
  }
  session.close();
  return {};
}

}  // namespace quail::list
