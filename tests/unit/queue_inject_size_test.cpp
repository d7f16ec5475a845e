// Unit tests for queue-inject's databytes count (bin-src/queue-inject/message_size):
// every octet of the caller's message counts except the trace fields the pipeline
// puts at its top (smtpd's Received:, a forward's Delivered-To:), capped.
#include <doctest/doctest.h>

#include <string>

#include "../../bin-src/queue-inject/message_size.cpp"

using quail::queue_inject::MessageSize;

namespace {

// The count after feeding `msg` in pieces of `step` octets.
uint64_t counted(const std::string& msg, size_t step) {
  MessageSize s(0);
  for (size_t i = 0; i < msg.size(); i += step) s.add(std::string_view(msg).substr(i, step));
  return s.counted();
}

}  // namespace

TEST_CASE("databytes: a message without trace fields counts every octet, in any pieces") {
  const std::string msg = "Subject: hi\n\nbody\n";
  for (size_t step : {1, 2, 5, 100}) {
    CAPTURE(step);
    CHECK(counted(msg, step) == msg.size());
  }
}

TEST_CASE("databytes: leading Received: and Delivered-To: fields, folded or not, are not counted") {
  const std::string trace =
      "Received: from x (127.0.0.1)\n\tby mx (quail smtpd) with ESMTP id 1.1\n\tfor <a@b>; date\n"
      "delivered-to: alice@example.test\nRECEIVED: by y\n";
  const std::string rest = "Subject: hi\nReceived: not leading, counted\n\nbody\n";
  for (size_t step : {1, 3, 7, 1000}) {
    CAPTURE(step);
    CHECK(counted(trace + rest, step) == rest.size());
  }
}

TEST_CASE("databytes: smtpd's Authentication-Results and Received-SPF fields on top are not counted") {
  const std::string body = "Subject: hi\n\nbody\n";
  const std::string msg = "Authentication-Results: mx.test;\n\tspf=pass smtp.mailfrom=a.test\n"
                          "Received-SPF: pass (mx.test: ...)\n\tclient-ip=192.0.2.1;\n"
                          "X-Quail-Quarantine: dmarc a.test p=quarantine\nReceived: from x\n" + body;
  for (size_t step : {1, 7, 1000}) CHECK(counted(msg, step) == body.size());
}

TEST_CASE("databytes: a field that only starts like a trace field counts") {
  for (std::string msg : {"Receive: x\n\nb\n", "Received x\n\nb\n", "Delivered: x\n\nb\n", " Received: x\n\nb\n",
                          "\nReceived: x\n", "X-Received: y\n"}) {
    CAPTURE(msg);
    CHECK(counted(msg, 1) == msg.size());
    CHECK(counted(msg, 64) == msg.size());
  }
}

TEST_CASE("databytes: the limit refuses the first octet over it, and 0 means none") {
  MessageSize s(10);
  CHECK(s.add("Received: from far away, not counted\n"));
  CHECK(s.add("0123456789"));
  CHECK_FALSE(s.add("x"));
  MessageSize none(0);
  CHECK(none.add(std::string(1 << 20, 'x')));
}

TEST_CASE("databytes: at most 64 KiB of leading trace fields go uncounted") {
  std::string line = "Received: " + std::string(1000, 'x') + "\n";
  std::string msg;
  while (msg.size() < 200 * 1024) msg += line;
  uint64_t c = counted(msg, 4096);
  CHECK(c == msg.size() - quail::queue_inject::uncounted_trace_max);
}
