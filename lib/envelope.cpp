// Envelope records: F<sender>\0, X<key>=<value>\0 ..., T<recipient>\0 [X...\0] ..., \0.
// Spec: queue-layout/envelope.md.
#include "envelope.hpp"

namespace quail {
namespace {

Error bad(const std::string& why) { return Error{ErrorKind::format, "malformed envelope: " + why}; }

bool clean_text(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool valid_key(std::string_view k) {
  if (k.empty() || k.size() > 32) return false;
  for (char c : k) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

Result<std::string> address_field(std::string_view v, bool allow_empty) {
  if (v.size() > max_envelope_address) return Error{ErrorKind::too_long, "envelope address longer than 1000 bytes"};
  if (v.empty() && !allow_empty) return bad("empty recipient");
  if (!clean_text(v)) return bad("control character in address");
  return std::string(v);
}

bool valid_notify(std::string_view v) {
  if (v == "NEVER") return true;
  size_t start = 0;
  while (start <= v.size()) {
    size_t comma = v.find(',', start);
    std::string_view item = v.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item != "SUCCESS" && item != "FAILURE" && item != "DELAY") return false;
    if (comma == std::string_view::npos) return true;
    start = comma + 1;
  }
  return false;
}

}  // namespace

Result<Envelope> parse_envelope(std::string_view bytes) {
  Envelope e;
  size_t pos = 0;
  auto next = [&](std::string_view& rec) -> bool {
    size_t nul = bytes.find('\0', pos);
    if (nul == std::string_view::npos) return false;
    rec = bytes.substr(pos, nul - pos);
    pos = nul + 1;
    return true;
  };
  std::string_view rec;
  if (!next(rec)) return bad("truncated before the sender");
  if (rec.empty() || rec.front() != 'F') return bad("first record is not F");
  auto sender = address_field(rec.substr(1), true);
  if (!sender) return sender.error();
  e.sender = std::move(*sender);
  bool ended = false;
  while (next(rec)) {
    if (rec.empty()) {
      ended = true;
      break;
    }
    char type = rec.front();
    std::string_view body = rec.substr(1);
    if (type == 'T') {
      auto a = address_field(body, false);
      if (!a) return a.error();
      e.recipients.push_back(Recipient{std::move(*a), {}, {}});
    } else if (type == 'X') {
      size_t eq = body.find('=');
      if (eq == std::string_view::npos) return bad("extension record without =");
      std::string_view key = body.substr(0, eq), value = body.substr(eq + 1);
      if (!valid_key(key)) return bad("bad extension key");
      if (!clean_text(value) || value.size() > 1000) return bad("bad extension value");
      bool per_rcpt = key == "notify" || key == "orcpt";
      // An empty DSN value says nothing and would make a repeat look like a first.
      if (per_rcpt && value.empty()) return bad("empty " + std::string(key));
      if (per_rcpt) {
        if (e.recipients.empty()) return bad(std::string(key) + " before any recipient");
        auto& r = e.recipients.back();
        if (key == "notify") {
          if (!valid_notify(value) || !r.notify.empty()) return bad("bad notify");
          r.notify = value;
        } else {
          if (!r.orcpt.empty()) return bad("repeated orcpt");
          r.orcpt = value;
        }
      } else if (!e.recipients.empty()) {
        return bad("message extension after a recipient");
      } else if (key == "ret") {
        if (value != "FULL" && value != "HDRS") return bad("bad ret");
        e.ret = value;
      } else if (key == "envid") {
        e.envid = value;
      } else if (key == "auth") {
        e.auth = value;
      } else if (key == "smtputf8") {
        if (value != "1") return bad("bad smtputf8");
        e.smtputf8 = true;
      } else {
        e.extra.emplace_back(key, value);
      }
    } else {
      return bad(std::string("unknown record type ") + (type >= 0x20 && type < 0x7f ? std::string(1, type) : "\\x??"));
    }
  }
  if (!ended) return bad("truncated: no terminating empty record");
  if (pos != bytes.size()) return bad("data after the terminating record");
  if (e.recipients.empty()) return bad("no recipients");
  return e;
}

std::string serialize_envelope(const Envelope& e) {
  std::string out;
  auto rec = [&](char type, std::string_view v) {
    out += type;
    out += v;
    out += '\0';
  };
  auto ext = [&](std::string_view k, std::string_view v) { rec('X', std::string(k) + "=" + std::string(v)); };
  rec('F', e.sender);
  if (!e.ret.empty()) ext("ret", e.ret);
  if (!e.envid.empty()) ext("envid", e.envid);
  if (!e.auth.empty()) ext("auth", e.auth);
  if (e.smtputf8) ext("smtputf8", "1");
  for (const auto& [k, v] : e.extra) ext(k, v);
  for (const auto& r : e.recipients) {
    rec('T', r.address);
    if (!r.notify.empty()) ext("notify", r.notify);
    if (!r.orcpt.empty()) ext("orcpt", r.orcpt);
  }
  out += '\0';
  return out;
}

}  // namespace quail
