// Bounce routing and RFC 3464 delivery status notifications: see bounce.hpp.
// Every text that reaches a header field is cleaned of control bytes and capped.
#include "bounce.hpp"

#include "date.hpp"

namespace quail {
namespace {

constexpr size_t max_field = 900;  // keeps each DSN line under RFC 5322's 998

// One header-safe line: control bytes become spaces, the length is capped.
std::string one_line(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= max_field) break;
    out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
  }
  return out;
}

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

BounceText build_bounce(const BounceSpec& s) {
  const std::string b = s.boundary;
  BounceText t;
  std::string& h = t.head;
  h += "From: " + one_line(s.from) + "\n";
  h += "To: " + one_line(s.to) + "\n";
  h += std::string("Subject: ") + (s.double_bounce ? "double bounce: " : "") + "failure notice\n";
  h += "Date: " + rfc5322_date(static_cast<time_t>(s.now)) + "\n";
  h += "Message-ID: <" + one_line(s.message_id) + ">\n";
  h += "Auto-Submitted: auto-replied\n";
  h += "MIME-Version: 1.0\n";
  h += "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"" + b + "\"\n";
  h += "\nThis is a MIME-formatted delivery status notification (RFC 3464).\n";

  // Part 1: for people.
  h += "\n--" + b + "\nContent-Type: text/plain; charset=utf-8\n\n";
  h += "Hi. This is the quail mail system at " + one_line(s.me) + ".\n";
  if (s.double_bounce) h += "A failure notice (bounce) could not be delivered to its recipient.\n";
  h += "I'm afraid I wasn't able to deliver your message to the following addresses.\n";
  h += "This is a permanent error; I've given up. Sorry it didn't work out.\n";
  for (const auto& r : s.failed) {
    h += "\n<" + one_line(r.address) + ">:\n" + one_line(r.reason) + "\n";
  }

  // Part 2: for programs (RFC 3464 section 2).
  h += "\n--" + b + "\nContent-Type: message/delivery-status\n\n";
  h += "Reporting-MTA: dns; " + one_line(s.me) + "\n";
  if (std::string envid = xtext_decode(s.envid); !envid.empty()) h += "Original-Envelope-Id: " + one_line(envid) + "\n";
  h += "Arrival-Date: " + rfc5322_date(static_cast<time_t>(s.arrival)) + "\n";
  for (const auto& r : s.failed) {
    h += "\nFinal-Recipient: rfc822; " + one_line(r.address) + "\n";
    if (size_t semi = r.orcpt.find(';'); semi != std::string::npos) {
      std::string addr = xtext_decode(r.orcpt.substr(semi + 1));
      if (!addr.empty()) h += "Original-Recipient: " + one_line(r.orcpt.substr(0, semi)) + "; " + one_line(addr) + "\n";
    }
    h += "Action: failed\n";
    h += "Status: " + dsn_status(r.reason) + "\n";
    if (!r.reason.empty()) h += "Diagnostic-Code: x-quail; " + one_line(r.reason) + "\n";
  }

  // Part 3: the original, or its headers (RET=HDRS).
  h += "\n--" + b + "\n";
  h += s.headers_only ? "Content-Type: text/rfc822-headers\n\n" : "Content-Type: message/rfc822\n\n";
  t.tail = "\n--" + b + "--\n";
  return t;
}

}  // namespace quail
