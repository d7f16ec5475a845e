// Message submission (RFC 6409) rules smtpd applies on the submission service:
// whose addresses an authenticated user may send as (8.1), and the header
// section check and completion (8.2 Date, 8.3 Message-ID) on the way to the
// queue. Trusts the login (checkpassword verified it), nothing in the message.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "address.hpp"

namespace quail::smtpd {

// True when a is the login's own address or one of its extensions (user-ext),
// or control/sendas allows it. A virtual login is its address (alice@example.test);
// a system login (carol) owns carol@ each local domain. sendas lines:
// "login address" or "login @domain" (every address at the domain).
bool sender_belongs(std::string_view login, const Address& a, const std::vector<std::string>& locals,
                    const std::vector<std::string>& sendas);

// Holds the header section back until it is whole, checks From:, and adds Date
// and Message-ID when the message has none.
class SubmissionHeaders {
 public:
  static constexpr size_t max_header = 64 * 1024;
  SubmissionHeaders(std::function<bool(const Address&)> owned, std::string date, std::string message_id)
      : owned_(std::move(owned)), date_(std::move(date)), message_id_(std::move(message_id)) {}
  // in: message bytes with LF line ends; appends to out what may go to the queue now.
  void feed(std::string_view in, std::string& out);
  // The message ended: releases what is still held.
  void finish(std::string& out);
  // Why the message must be refused ("" when it may go): a From: that is not the
  // user's, none at all, or a header section too big to check.
  const std::string& problem() const { return problem_; }

 private:
  void release(size_t header_end, std::string& out);
  std::function<bool(const Address&)> owned_;
  std::string date_, message_id_;
  std::string held_;
  size_t scanned_ = 0;  // held_[0, scanned_) are whole header lines
  bool done_ = false;
  std::string problem_;
};

}  // namespace quail::smtpd
