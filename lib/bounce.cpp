// Bounce routing and the DSN values of RFC 3461/3463: see bounce.hpp.
#include "bounce.hpp"

namespace quail {
namespace {

bool digits(std::string_view s, size_t min, size_t max) {
  if (s.size() < min || s.size() > max) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

BounceRoute bounce_route(std::string_view sender, std::string_view me, std::string_view doublebounceto) {
  if (sender == double_bounce_sender) return {BounceKind::drop, "", ""};
  if (sender.empty()) {
    return {BounceKind::double_bounce, std::string(double_bounce_sender),
            std::string(doublebounceto) + "@" + std::string(me)};
  }
  return {BounceKind::bounce, "", std::string(sender)};
}

std::string verp_return_path(std::string_view sender, std::string_view recipient) {
  constexpr std::string_view suffix = "-@[]";
  if (sender.size() <= suffix.size() || sender.substr(sender.size() - suffix.size()) != suffix) {
    return std::string(sender);
  }
  std::string_view base = sender.substr(0, sender.size() - suffix.size());  // prefix-@domain
  size_t at = base.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == base.size()) return std::string(sender);
  size_t rat = recipient.rfind('@');
  std::string_view local = rat == std::string_view::npos ? recipient : recipient.substr(0, rat);
  std::string_view host = rat == std::string_view::npos ? std::string_view() : recipient.substr(rat + 1);
  std::string out(base.substr(0, at));
  out += local;
  out += '=';
  out += host;
  out += base.substr(at);
  return out;
}

std::string dsn_status(std::string_view reason, std::string_view fallback) {
  while (!reason.empty() && (reason.back() == ' ' || reason.back() == '\n')) reason.remove_suffix(1);
  size_t open = reason.rfind("(#");
  if (open == std::string_view::npos || reason.back() != ')') return std::string(fallback);
  std::string_view code = reason.substr(open + 2, reason.size() - open - 3);
  size_t d1 = code.find('.');
  size_t d2 = d1 == std::string_view::npos ? d1 : code.find('.', d1 + 1);
  if (d2 == std::string_view::npos) return std::string(fallback);
  std::string_view cls = code.substr(0, d1), sub = code.substr(d1 + 1, d2 - d1 - 1), det = code.substr(d2 + 1);
  if (cls.size() != 1 || (cls[0] != '4' && cls[0] != '5') || !digits(sub, 1, 3) || !digits(det, 1, 3)) {
    return std::string(fallback);
  }
  return "5." + std::string(sub) + "." + std::string(det);
}

bool notify_on_failure(std::string_view notify) {
  if (notify.empty()) return true;
  size_t pos = 0;
  while (pos <= notify.size()) {
    size_t comma = notify.find(',', pos);
    std::string_view item = notify.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (item == "FAILURE") return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

std::string xtext_decode(std::string_view x) {
  std::string out;
  for (size_t i = 0; i < x.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(x[i]);
    if (c == '+') {
      if (i + 2 >= x.size()) return "";
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      int hi = hex(x[i + 1]), lo = hex(x[i + 2]);
      if (hi < 0 || lo < 0) return "";
      c = static_cast<unsigned char>(hi * 16 + lo);
      i += 2;
    }
    if (c < 0x20 || c == 0x7f) return "";
    out += static_cast<char>(c);
  }
  return out;
}

std::string_view message_headers(std::string_view message) {
  if (message.substr(0, 1) == "\n") return message.substr(0, 1);
  size_t blank = message.find("\n\n");
  if (blank == std::string_view::npos) return message;
  return message.substr(0, blank + 2);
}

uint8_t notify_flags(std::string_view notify) {
  if (notify.empty()) return notify_failure | notify_delay;
  uint8_t out = 0;
  size_t pos = 0;
  for (;;) {
    size_t comma = notify.find(',', pos);
    std::string_view item = notify.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (item == "SUCCESS") out |= notify_success;
    if (item == "FAILURE") out |= notify_failure;
    if (item == "DELAY") out |= notify_delay;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;  // NEVER, or nothing we know: no notice at all
}

std::string dsn_status_as(std::string_view reason, char cls, std::string_view fallback) {
  std::string st = dsn_status(reason, "");
  if (st.empty()) return std::string(fallback);
  st[0] = cls;
  return st;
}

RemoteReply remote_reply(std::string_view reason) {
  RemoteReply out;
  // "<host> [<ip>]" at the start names the server that answered.
  size_t sp = reason.find(' ');
  if (sp != std::string_view::npos && sp > 0 && reason.substr(sp, 2) == " [") {
    std::string_view host = reason.substr(0, sp);
    bool ok = true;
    for (char c : host) {
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                  c == ':' || c == '[' || c == ']');
    }
    if (ok) out.host = std::string(host);
  }
  // ": " then a three-digit reply code starts what the server said.
  for (size_t p = reason.find(": "); p != std::string_view::npos; p = reason.find(": ", p + 1)) {
    std::string_view r = reason.substr(p + 2);
    if (r.size() >= 3 && r[0] >= '2' && r[0] <= '5' && digits(r.substr(0, 3), 3, 3) &&
        (r.size() == 3 || r[3] == ' ' || r[3] == '-')) {
      out.reply = std::string(r);
      break;
    }
  }
  return out;
}

}  // namespace quail
