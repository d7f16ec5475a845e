// Delivery status notifications: see dsn_report.hpp. RFC 3464 for the fields,
// RFC 6522 for the multipart/report, RFC 6533 for UTF-8 addresses and originals.
// Every text that reaches a header field is cleaned of control bytes and capped.
#include "dsn_report.hpp"

#include "bounce.hpp"
#include "date.hpp"

namespace quail {
namespace {

constexpr size_t max_field = 900;  // keeps each DSN line under RFC 5322's 998

// Length of the valid UTF-8 sequence starting at s[i] (2..4 bytes), 0 if none.
size_t utf8_sequence(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  }
  if (n == 3 && ((c == 0xe0 && b(i + 1) < 0xa0) || (c == 0xed && b(i + 1) > 0x9f))) return 0;  // overlong, surrogate
  if (n == 4 && ((c == 0xf0 && b(i + 1) < 0x90) || (c == 0xf4 && b(i + 1) > 0x8f))) return 0;
  return n;
}

// One header-safe line: control bytes become spaces, the length is capped;
// bytes >= 0x80 stay only as valid UTF-8 where `utf8` allows them, else '?'.
std::string one_line(std::string_view s, bool utf8) {
  std::string out;
  for (size_t i = 0; i < s.size() && out.size() < max_field;) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = utf8 ? utf8_sequence(s, i) : 0;
      if (n == 0) {
        out += '?';
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
    ++i;
  }
  return out;
}

bool non_ascii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

// The ORCPT as "type; address" (xtext decoded), or "" when it is absent or malformed.
std::string original_recipient(std::string_view orcpt) {
  size_t semi = orcpt.find(';');
  if (semi == std::string_view::npos || semi == 0) return "";
  std::string addr = xtext_decode(orcpt.substr(semi + 1));
  if (addr.empty()) return "";
  return std::string(orcpt.substr(0, semi)) + "; " + addr;
}

bool is_success(DsnAction a) { return a == DsnAction::delivered || a == DsnAction::relayed || a == DsnAction::expanded; }

std::string status_of(const DsnRecipient& r) {
  if (r.action == DsnAction::failed) return dsn_status(r.reason);
  if (r.action == DsnAction::delayed) return dsn_status_as(r.reason, '4', "4.0.0");
  return "2.0.0";
}

std::string subject_of(const DsnSpec& s, DsnAction kind) {
  if (kind == DsnAction::failed) return std::string(s.double_bounce ? "double bounce: " : "") + "failure notice";
  if (kind == DsnAction::delayed) return "delivery delayed: still trying";
  return "delivery report";
}

// Part 1: for people.
void human_part(std::string& h, const DsnSpec& s, DsnAction kind, bool utf8) {
  h += "Hi. This is the quail mail system at " + one_line(s.me, false) + ".\n";
  if (kind == DsnAction::failed) {
    if (s.double_bounce) h += "A failure notice (bounce) could not be delivered to its recipient.\n";
    h += "I'm afraid I wasn't able to deliver your message to the following addresses.\n";
    h += "This is a permanent error; I've given up. Sorry it didn't work out.\n";
  } else if (kind == DsnAction::delayed) {
    h += "Your message has not been delivered to the following addresses yet.\n";
    h += "This is only a warning: I'm still trying";
    if (s.retry_until > 0) h += ", until " + rfc5322_date(static_cast<time_t>(s.retry_until));
    h += ".\nYou need not send the message again; you will hear from me again only if I give up.\n";
  } else {
    h += "As you asked, this is a report on your message to the following addresses.\n";
  }
  for (const auto& r : s.recipients) {
    h += "\n<" + one_line(r.address, utf8) + ">:";
    if (r.action == DsnAction::delivered) h += " delivered.";
    if (r.action == DsnAction::relayed) {
      h += " handed on to a mail server that sends no delivery reports;\nthis is the last report you will get for it.";
    }
    if (r.action == DsnAction::expanded) h += " delivered, and forwarded on to other addresses.";
    h += "\n";
    if (!r.reason.empty()) h += one_line(r.reason, utf8) + "\n";
  }
}

// Part 2: for programs (RFC 3464 section 2; RFC 6533 for utf-8 types).
void status_part(std::string& h, const DsnSpec& s, bool utf8) {
  h += "Reporting-MTA: dns; " + one_line(s.me, false) + "\n";
  if (std::string envid = xtext_decode(s.envid); !envid.empty()) {
    h += "Original-Envelope-Id: " + one_line(envid, utf8) + "\n";
  }
  h += "Arrival-Date: " + rfc5322_date(static_cast<time_t>(s.arrival)) + "\n";
  for (const auto& r : s.recipients) {
    h += std::string("\nFinal-Recipient: ") + (non_ascii(r.address) ? "utf-8; " : "rfc822; ") +
         one_line(r.address, utf8) + "\n";
    if (std::string orig = original_recipient(r.orcpt); !orig.empty()) {
      h += "Original-Recipient: " + one_line(orig, utf8) + "\n";
    }
    h += "Action: " + std::string(dsn_action_name(r.action)) + "\n";
    h += "Status: " + status_of(r) + "\n";
    RemoteReply rr = remote_reply(r.reason);
    if (!rr.host.empty()) h += "Remote-MTA: dns; " + one_line(rr.host, false) + "\n";
    if (!rr.reply.empty()) {
      h += "Diagnostic-Code: smtp; " + one_line(rr.reply, utf8) + "\n";
    } else if (!r.reason.empty() && !is_success(r.action)) {
      h += "Diagnostic-Code: x-quail; " + one_line(r.reason, utf8) + "\n";
    }
    if (r.action == DsnAction::delayed) {
      h += "Last-Attempt-Date: " + rfc5322_date(static_cast<time_t>(s.now)) + "\n";
      if (s.retry_until > 0) h += "Will-Retry-Until: " + rfc5322_date(static_cast<time_t>(s.retry_until)) + "\n";
    }
  }
}

}  // namespace

std::string_view dsn_action_name(DsnAction a) {
  switch (a) {
    case DsnAction::failed: return "failed";
    case DsnAction::delayed: return "delayed";
    case DsnAction::delivered: return "delivered";
    case DsnAction::relayed: return "relayed";
    case DsnAction::expanded: return "expanded";
  }
  return "failed";
}

DsnText build_dsn(const DsnSpec& s) {
  const std::string b = s.boundary;
  const DsnAction kind = s.recipients.empty() ? DsnAction::failed : s.recipients.front().action;
  // RFC 6533: a UTF-8 address (or ORCPT, or ENVID) makes the report global.
  bool utf8 = non_ascii(s.envid);
  for (const auto& r : s.recipients) utf8 = utf8 || non_ascii(r.address) || non_ascii(r.orcpt);
  DsnText t;
  std::string& h = t.head;
  h += "From: " + one_line(s.from, true) + "\n";
  h += "To: " + one_line(s.to, true) + "\n";
  h += "Subject: " + subject_of(s, kind) + "\n";
  h += "Date: " + rfc5322_date(static_cast<time_t>(s.now)) + "\n";
  h += "Message-ID: <" + one_line(s.message_id, false) + ">\n";
  h += "Auto-Submitted: auto-replied\n";
  h += "MIME-Version: 1.0\n";
  h += std::string("Content-Type: multipart/report; report-type=") + (utf8 ? "global-" : "") +
       "delivery-status;\n\tboundary=\"" + b + "\"\n";
  if (utf8 || s.eight_bit || s.utf8_original) h += "Content-Transfer-Encoding: 8bit\n";
  h += "\nThis is a MIME-formatted delivery status notification (RFC 3464).\n";

  h += "\n--" + b + "\nContent-Type: text/plain; charset=utf-8\n";
  if (utf8) h += "Content-Transfer-Encoding: 8bit\n";
  h += "\n";
  human_part(h, s, kind, utf8);

  h += "\n--" + b + "\nContent-Type: message/" + (utf8 ? "global-" : "") + "delivery-status\n";
  if (utf8) h += "Content-Transfer-Encoding: 8bit\n";
  h += "\n";
  status_part(h, s, utf8);

  // Part 3: the original, byte for byte, or its header section (RFC 6533 6.3, 6.4).
  h += "\n--" + b + "\n";
  if (s.content == DsnContent::full) {
    h += s.utf8_original ? "Content-Type: message/global\n" : "Content-Type: message/rfc822\n";
  } else {
    h += s.utf8_original ? "Content-Type: message/global-headers\n" : "Content-Type: text/rfc822-headers\n";
  }
  if (s.eight_bit) h += "Content-Transfer-Encoding: 8bit\n";
  h += "\n";
  t.tail = "\n--" + b + "--\n";
  return t;
}

}  // namespace quail
