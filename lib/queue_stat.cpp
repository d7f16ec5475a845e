// The delivery journal stat/<id> and the retry schedule: see queue_stat.hpp and
// queue-layout/README.md. The parser trusts no byte of the journal.
#include "queue_stat.hpp"

#include <cstdint>

#include <cmath>

#include "decimal.hpp"
#include "queue_file.hpp"

namespace quail {
namespace {

constexpr std::string_view magic = "quail-stat 1 ";
constexpr size_t max_reason = 1000;

Error bad_line(size_t lineno, const std::string& what) {
  return Error{ErrorKind::format, "stat journal line " + std::to_string(lineno) + ": " + what};
}

// Splits "a b rest" at the first space: a in head, the remainder in rest.
bool split_word(std::string_view s, std::string_view& head, std::string_view& rest, bool need_rest) {
  size_t sp = s.find(' ');
  if (sp == std::string_view::npos) {
    if (need_rest) return false;
    head = s;
    rest = {};
    return true;
  }
  head = s.substr(0, sp);
  rest = s.substr(sp + 1);
  return true;
}

bool clean(std::string_view reason) {
  for (unsigned char c : reason) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return reason.size() <= max_reason;
}

// R <n> / W <n>: a success report / delay notice for recipient n is queued. They
// contradict nothing: each only spares the recipient a second notice.
Status apply_notice_record(QueueStat& s, std::string_view line, size_t lineno) {
  auto n = line.size() < 3 || line[1] != ' ' ? std::nullopt : parse_decimal(line.substr(2), UINT64_MAX);
  if (!n) return bad_line(lineno, "malformed " + std::string(1, line[0]) + " record");
  if (*n >= s.recipients.size()) return bad_line(lineno, "recipient number out of range");
  (line[0] == 'R' ? s.recipients[*n].reported : s.recipients[*n].warned) = true;
  return {};
}

// Applies one record line (without its '\n') to s; an error says what is wrong.
Status apply_record(QueueStat& s, std::string_view line, size_t lineno) {
  if (line.empty()) return bad_line(lineno, "empty record");
  char type = line[0];
  if (type == 'B') {
    if (line.size() != 1) return bad_line(lineno, "malformed B record");
    // B: the bounce for every F so far is queued.
    for (auto& r : s.recipients) {
      if (r.outcome == StatOutcome::failed) r.bounced = true;
    }
    return {};
  }
  if (type == 'R' || type == 'W') return apply_notice_record(s, line, lineno);
  if ((type != 'D' && type != 'F' && type != 'T') || line.size() < 3 || line[1] != ' ') {
    return bad_line(lineno, "unknown record");
  }
  std::string_view word, rest;
  if (!split_word(line.substr(2), word, rest, type != 'D')) return bad_line(lineno, "missing field");
  auto n = parse_decimal(word, UINT64_MAX);
  if (!n) return bad_line(lineno, "malformed recipient number");
  if (*n >= s.recipients.size()) return bad_line(lineno, "recipient number out of range");
  StatRecipient& r = s.recipients[*n];
  if (type == 'D') {
    if (!rest.empty()) return bad_line(lineno, "malformed D record");
    if (r.outcome == StatOutcome::failed) return bad_line(lineno, "D after F for one recipient");
    r.outcome = StatOutcome::delivered;
    r.reason.clear();  // an earlier T's reason says nothing about a delivered recipient
    r.last_try = 0;
    return {};
  }
  if (type == 'F') {
    if (!clean(rest)) return bad_line(lineno, "control byte or overlong reason");
    if (r.outcome == StatOutcome::delivered) return bad_line(lineno, "F after D for one recipient");
    if (r.outcome != StatOutcome::failed) {
      r.outcome = StatOutcome::failed;
      r.bounced = false;
      r.reason = std::string(rest);
    }
    return {};
  }
  // T <n> <unix-time> <reason>: advisory; a final outcome wins over it.
  std::string_view when, reason;
  if (!split_word(rest, when, reason, true)) return bad_line(lineno, "missing field");
  // Bounded like every queue time: a time past it would wrap or overflow where the
  // scheduler turns it into nanoseconds, so it is damage like any other.
  auto t = parse_decimal(when, static_cast<uint64_t>(max_queue_time_s));
  if (!t) return bad_line(lineno, "malformed time");
  if (!clean(reason)) return bad_line(lineno, "control byte or overlong reason");
  if (r.outcome == StatOutcome::pending) {
    r.last_try = static_cast<int64_t>(*t);
    r.reason = std::string(reason);
  }
  return {};
}

Result<QueueStat> parse(std::string_view text, size_t recipients, bool salvage) {
  size_t nl = text.find('\n');
  if (nl == std::string_view::npos || text.substr(0, magic.size()) != magic) {
    return bad_line(1, "not a quail-stat 1 journal");
  }
  // The birth is a queue header's, within the same bound (queue_file.hpp).
  auto birth = parse_decimal(text.substr(magic.size(), nl - magic.size()), static_cast<uint64_t>(max_queue_time_ns));
  if (!birth) return bad_line(1, "malformed birth");
  QueueStat s;
  s.birth_ns = static_cast<int64_t>(*birth);
  s.recipients.resize(recipients);
  size_t pos = nl + 1;
  s.good_bytes = pos;
  for (size_t lineno = 2; pos < text.size(); ++lineno) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) {
      s.torn_tail = true;  // never fdatasync'ed, so it never counted
      break;
    }
    // apply_record checks everything before it changes s, so on error s still
    // holds exactly the records before this line.
    if (auto st = apply_record(s, text.substr(pos, end - pos), lineno); !st) {
      if (!salvage) return st.error();
      return s;
    }
    pos = end + 1;
    s.good_bytes = pos;
  }
  return s;
}

std::string number_record(char type, size_t n) { return std::string(1, type) + " " + std::to_string(n); }

}  // namespace

Result<QueueStat> parse_queue_stat(std::string_view text, size_t recipients) { return parse(text, recipients, false); }
Result<QueueStat> salvage_queue_stat(std::string_view text, size_t recipients) { return parse(text, recipients, true); }

std::string stat_clean_reason(std::string_view reason) {
  std::string out;
  out.reserve(std::min(reason.size(), max_reason));
  for (unsigned char c : reason) {
    if (out.size() >= max_reason) break;
    out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
  }
  return out;
}

std::string stat_header_record(int64_t birth_ns) { return std::string(magic) + std::to_string(birth_ns) + "\n"; }
std::string stat_delivered_record(size_t n) { return number_record('D', n) + "\n"; }
std::string stat_failed_record(size_t n, std::string_view reason) {
  return number_record('F', n) + " " + stat_clean_reason(reason) + "\n";
}
std::string stat_bounced_record() { return "B\n"; }
std::string stat_temporary_record(size_t n, int64_t unix_time, std::string_view reason) {
  // Kept inside what the parser accepts, so a written record always reads back.
  int64_t t = unix_time < 0 ? 0 : unix_time > max_queue_time_s ? max_queue_time_s : unix_time;
  return number_record('T', n) + " " + std::to_string(t) + " " +
         stat_clean_reason(reason) + "\n";
}

std::string stat_reported_record(size_t n) { return number_record('R', n) + "\n"; }
std::string stat_warned_record(size_t n) { return number_record('W', n) + "\n"; }

std::string format_queue_stat(const QueueStat& s) {
  std::string out = stat_header_record(s.birth_ns);
  bool any_bounced = false;
  // Failures already bounced first, then B, then the rest: B covers exactly those.
  for (size_t n = 0; n < s.recipients.size(); ++n) {
    const auto& r = s.recipients[n];
    if (r.outcome == StatOutcome::failed && r.bounced) {
      out += stat_failed_record(n, r.reason);
      any_bounced = true;
    }
  }
  if (any_bounced) out += stat_bounced_record();
  for (size_t n = 0; n < s.recipients.size(); ++n) {
    const auto& r = s.recipients[n];
    if (r.outcome == StatOutcome::delivered) out += stat_delivered_record(n);
    if (r.outcome == StatOutcome::failed && !r.bounced) out += stat_failed_record(n, r.reason);
    if (r.outcome == StatOutcome::pending && (r.last_try > 0 || !r.reason.empty())) {
      out += stat_temporary_record(n, r.last_try, r.reason);
    }
    if (r.reported) out += stat_reported_record(n);
    if (r.warned) out += stat_warned_record(n);
  }
  return out;
}

int64_t next_retry_ns(int64_t birth_ns, int64_t now_ns, int64_t scale) {
  if (scale < 1) scale = 1;
  return next_retry_unit_ns(birth_ns, now_ns, retry_unit_ns / scale);
}

int64_t next_retry_unit_ns(int64_t birth_ns, int64_t now_ns, int64_t unit) {
  if (unit < 1) unit = 1;
  if (now_ns < birth_ns) return birth_ns + unit;
  int64_t age = now_ns - birth_ns;
  // The smallest n with unit * n^2 > age; sqrt gives it to within one either way.
  auto n = static_cast<int64_t>(std::sqrt(static_cast<long double>(age) / static_cast<long double>(unit)));
  if (n < 1) n = 1;
  while (n > 1 && unit * (n - 1) * (n - 1) > age) --n;
  while (unit * n * n <= age) ++n;
  return birth_ns + unit * n * n;
}

}  // namespace quail
