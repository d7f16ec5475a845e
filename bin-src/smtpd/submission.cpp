// RFC 6409 sender ownership and header completion: see submission.hpp.
#include "submission.hpp"

#include "headers.hpp"

namespace quail::smtpd {
namespace {

bool owns_local(std::string_view user, std::string_view local) {
  std::string l = lowercase(local), u = lowercase(user);
  return l == u || (l.size() > u.size() + 1 && l.compare(0, u.size(), u) == 0 && l[u.size()] == '-');
}

}  // namespace

bool sender_belongs(std::string_view login, const Address& a, const std::vector<std::string>& locals,
                    const std::vector<std::string>& sendas) {
  if (a.null() || a.quoted()) return false;
  std::string addr = lowercase(a.str());
  size_t at = login.rfind('@');
  if (at != std::string_view::npos) {
    if (lowercase(login.substr(at + 1)) == a.domain() && owns_local(login.substr(0, at), a.local())) return true;
  } else {
    for (const auto& d : locals) {
      if (d == a.domain() && owns_local(login, a.local())) return true;
    }
  }
  for (const auto& line : sendas) {
    size_t sp = line.find_first_of(" \t");
    if (sp == std::string::npos || lowercase(line.substr(0, sp)) != lowercase(login)) continue;
    size_t v = line.find_first_not_of(" \t", sp);
    if (v == std::string::npos) continue;
    std::string what = lowercase(line.substr(v));
    if (what == addr || (what.front() == '@' && what.substr(1) == a.domain())) return true;
  }
  return false;
}

void SubmissionHeaders::feed(std::string_view in, std::string& out) {
  if (done_) {
    out.append(in);
    return;
  }
  held_.append(in);
  bool ended = false;  // the line at scanned_ ends the header section
  for (;;) {
    size_t lf = held_.find('\n', scanned_);
    if (lf == std::string::npos) break;
    HeaderLine kind = classify_header_line(std::string_view(held_.data() + scanned_, lf + 1 - scanned_));
    if ((ended = kind == HeaderLine::blank || kind == HeaderLine::other)) break;
    scanned_ = lf + 1;
  }
  if (scanned_ > max_header || (!ended && held_.size() > max_header)) problem_ = "header section over 64 KiB";
  if (ended || !problem_.empty()) release(scanned_, out);
}

void SubmissionHeaders::finish(std::string& out) {
  if (!done_) release(scanned_, out);
}

void SubmissionHeaders::release(size_t header_end, std::string& out) {
  done_ = true;
  std::string_view header(held_.data(), header_end);
  auto fields = parse_header(header);
  std::string additions;
  if (fields) {
    const HeaderField* from = find_field(*fields, "From");
    if (!from) {
      if (problem_.empty()) problem_ = "message has no From: field";
    } else if (auto list = parse_address_list(from->value()); !list || list->empty()) {
      if (problem_.empty()) problem_ = "malformed From: field";
    } else {
      for (const auto& m : *list) {
        auto a = parse_address(m.address);
        if (!a || !owned_(*a)) {
          if (problem_.empty()) problem_ = "From: " + m.address + " is not yours to send as";
          break;
        }
      }
    }
    if (!find_field(*fields, "Date")) additions += "Date: " + date_ + "\n";
    if (!find_field(*fields, "Message-ID")) additions += "Message-ID: " + message_id_ + "\n";
  } else if (problem_.empty()) {
    problem_ = "malformed header section";
  }
  out.append(header);
  out += additions;
  out.append(held_, header_end);
  held_.clear();
  held_.shrink_to_fit();
}

}  // namespace quail::smtpd
