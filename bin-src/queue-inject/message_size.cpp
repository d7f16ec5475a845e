// The databytes count: see message_size.hpp and man/queue-inject.8.
#include "message_size.hpp"

#include <array>

namespace quail::queue_inject {
namespace {

// smtpd's mail-authentication verdict (man/mailauth.8) goes on top with its Received line.
constexpr std::array<std::string_view, 5> trace_names = {"received:", "delivered-to:", "authentication-results:",
                                                         "received-spf:", "x-quail-quarantine:"};

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// 1: head is a whole trace field name; 0: it may still become one; -1: it cannot.
int trace_prefix(std::string_view head) {
  for (std::string_view name : trace_names) {
    if (head.size() > name.size()) continue;
    bool match = true;
    for (size_t i = 0; i < head.size() && match; ++i) match = lower(head[i]) == name[i];
    if (match) return head.size() == name.size() ? 1 : 0;
  }
  return -1;
}

}  // namespace

void MessageSize::leading(char c) {
  if (in_field_) {
    ++skipped_;
    if (c == '\n') in_field_ = false;
    return;
  }
  // A line that starts with a space or tab continues the trace field before it.
  if (head_.empty() && skipped_ > 0 && (c == ' ' || c == '\t')) {
    ++skipped_;
    in_field_ = true;
    return;
  }
  head_ += c;
  int m = trace_prefix(head_);
  if (m == 1) {
    skipped_ += head_.size();
    head_.clear();
    in_field_ = true;
  } else if (m < 0) {
    // The first line that is not a trace field: from here on, everything counts.
    counted_ += head_.size();
    head_.clear();
    leading_ = false;
  }
}

bool MessageSize::add(std::string_view bytes) {
  size_t i = 0;
  for (; i < bytes.size() && leading_; ++i) {
    leading(bytes[i]);
    if (skipped_ > uncounted_trace_max) {
      counted_ += skipped_ - uncounted_trace_max + head_.size();
      head_.clear();
      leading_ = false;
    }
  }
  counted_ += bytes.size() - i;
  return limit_ == 0 || counted_ <= limit_;
}

}  // namespace quail::queue_inject
