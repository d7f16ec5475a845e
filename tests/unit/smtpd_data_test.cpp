// Unit tests for smtpd's DATA/BDAT decoder (bin-src/smtpd/data_decoder): dot
// unstuffing, the one true end of data, every smuggling spelling, bare CR/LF,
// NUL, line length, the Received count, and chunk boundaries.
#include <doctest/doctest.h>

#include <string>
#include <vector>

// smtpd's own file (not in lib/: only smtpd uses it), compiled into the tests.
#include "../../bin-src/smtpd/data_decoder.cpp"

using quail::smtpd::DataDecoder;

namespace {

struct Decoded {
  std::string out;
  size_t consumed = 0;
  bool done = false;
  bool bare = false;
  bool nul = false;
  bool long_line = false;
  uint64_t size = 0;
  unsigned received = 0;
  bool operator==(const Decoded&) const = default;
};

// Feeds in in pieces of `step` octets (0: all at once), as reads would split it.
Decoded decode(const std::string& in, DataDecoder::Mode mode = DataDecoder::Mode::dot, size_t step = 0) {
  DataDecoder d(mode);
  Decoded r;
  size_t pos = 0;
  while (pos < in.size() && !d.done()) {
    size_t n = step ? std::min(step, in.size() - pos) : in.size() - pos;
    size_t used = d.feed(std::string_view(in).substr(pos, n), r.out);
    pos += used;
    if (used < n) break;
  }
  if (mode == DataDecoder::Mode::chunked) d.finish(r.out);
  r.consumed = pos;
  r.done = d.done();
  r.bare = d.bare_cr() || d.bare_lf();
  r.nul = d.nul();
  r.long_line = d.long_line();
  r.size = d.size();
  r.received = d.received();
  return r;
}

}  // namespace

TEST_CASE("smtpd data: CRLF becomes LF, the end is <CRLF>.<CRLF>, and what follows stays") {
  std::string in = "Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n";
  auto r = decode(in);
  CHECK(r.done);
  CHECK(r.out == "Subject: hi\n\nbody\n");
  CHECK(r.consumed == in.size() - 6);
  CHECK_FALSE(r.bare);
  CHECK(r.size == 21);  // the CRLF form, without the final dot line
}

TEST_CASE("smtpd data: an empty message ends at once") {
  auto r = decode(".\r\nNOOP\r\n");
  CHECK(r.done);
  CHECK(r.consumed == 3);
  CHECK(r.out.empty());
}

TEST_CASE("smtpd data: dot-unstuffing") {
  CHECK(decode("..\r\n.\r\n").out == ".\n");
  CHECK(decode("...\r\n.\r\n").out == "..\n");
  CHECK(decode("..x\r\n.\r\n").out == ".x\n");
  CHECK(decode(". \r\n.\r\n").out == " \n");
  CHECK(decode("a.\r\n.\r\n").out == "a.\n");   // only a leading dot is stuffing
  CHECK(decode("a\r\n..\r\n.\r\n").out == "a\n.\n");
}

TEST_CASE("smtpd data: no smuggled end of data, every spelling") {
  // Each of these must not end the data: the real end comes later, and the
  // message is refused for its bare CR or LF.
  const char* vectors[] = {
      "a\n.\nMAIL FROM:<x@evil.test>\r\n",      // \n.\n
      "a\r.\rMAIL FROM:<x@evil.test>\r\n",      // \r.\r
      "a\r\n.\nMAIL FROM:<x@evil.test>\r\n",    // \r\n.\n
      "a\n.\r\nMAIL FROM:<x@evil.test>\r\n",    // \n.\r\n
      "a\r.\r\nMAIL FROM:<x@evil.test>\r\n",    // \r.\r\n
      "a\r\n.\rMAIL FROM:<x@evil.test>\r\n",    // \r\n.\r
      "a\r\r\n.\nMAIL FROM:<x@evil.test>\r\n",  // \r\r\n.\n
      ".\nMAIL FROM:<x@evil.test>\r\n",          // .\n at the very start
      "a\n\n.\n\nMAIL FROM:<x@evil.test>\r\n",
  };
  for (const char* v : vectors) {
    std::string in = std::string(v) + ".\r\n";
    CAPTURE(in);
    for (size_t step : {0, 1, 2, 3}) {
      auto r = decode(in, DataDecoder::Mode::dot, step);
      CHECK(r.done);
      CHECK(r.consumed == in.size());
      CHECK(r.bare);
    }
  }
}

TEST_CASE("smtpd data: the end is exactly the first <CRLF>.<CRLF>") {
  std::string in = "a\r\n.\r\n.\r\nb\r\n.\r\n";
  auto r = decode(in);
  CHECK(r.consumed == 6);
  CHECK(r.out == "a\n");
  // A CR before the CRLF is bare, but the CRLF still starts a line.
  auto c = decode("a\r\r\n.\r\nNOOP\r\n");
  CHECK(c.done);
  CHECK(c.consumed == 7);
  CHECK(c.bare);
  // ".\r" + something: the CR is bare and the data goes on.
  auto d = decode(".\rx\r\n.\r\n");
  CHECK(d.done);
  CHECK(d.consumed == 8);
  CHECK(d.bare);
}

TEST_CASE("smtpd data: bare CR and bare LF are faults wherever they are") {
  CHECK(decode("a\rb\r\n.\r\n").bare);
  CHECK(decode("a\nb\r\n.\r\n").bare);
  CHECK(decode("\n\r\n.\r\n").bare);
  CHECK(decode("a\r\n\r\r\n.\r\n").bare);
  CHECK_FALSE(decode("a\r\n\r\n.\r\n").bare);
}

TEST_CASE("smtpd data: NUL octets are flagged") {
  std::string in = std::string("a\0b\r\n.\r\n", 8);
  auto r = decode(in);
  CHECK(r.nul);
  CHECK(r.done);
  CHECK_FALSE(decode("ab\r\n.\r\n").nul);
}

TEST_CASE("smtpd data: text lines over 998 octets are flagged, a stuffed dot not counted") {
  CHECK_FALSE(decode(std::string(998, 'x') + "\r\n.\r\n").long_line);
  CHECK(decode(std::string(999, 'x') + "\r\n.\r\n").long_line);
  CHECK_FALSE(decode("." + std::string(998, '.') + "\r\n.\r\n").long_line);
  CHECK_FALSE(decode(std::string(998, 'x') + "\r\n" + std::string(998, 'y') + "\r\n.\r\n").long_line);
}

TEST_CASE("smtpd data: Received fields are counted in the header section only") {
  std::string in =
      "Received: a\r\nreceived: b\r\n\tcontinued received: no\r\nRECEIVED:c\r\nX-Received: no\r\n"
      "Subject: s\r\n\r\nReceived: in the body\r\n.\r\n";
  CHECK(decode(in).received == 3);
  CHECK(decode(in, DataDecoder::Mode::dot, 1).received == 3);
  CHECK(decode("\r\nReceived: x\r\n.\r\n").received == 0);
  CHECK(decode("Receive: x\r\nReceived\r\n.\r\n").received == 0);
}

TEST_CASE("smtpd data: the result never depends on how the input was split") {
  std::string in =
      "Received: x\r\n..a\r\nb\r.\r\n\nc\r\n.x\r\n" + std::string(1000, 'l') + "\r\n.\r\nTAIL";
  auto whole = decode(in);
  for (size_t step = 1; step < 20; ++step) {
    CAPTURE(step);
    CHECK(decode(in, DataDecoder::Mode::dot, step) == whole);
  }
}

TEST_CASE("smtpd data: BDAT chunks keep dots, join a CR and LF split across chunks") {
  DataDecoder d(DataDecoder::Mode::chunked);
  std::string out;
  CHECK(d.feed("Subject: x\r", out) == 11);
  CHECK(d.feed("\n\r\n.\r\n..\r\nend\r\n", out) == 15);
  d.finish(out);
  CHECK(out == "Subject: x\n\n.\n..\nend\n");
  CHECK_FALSE(d.bare_cr());
  CHECK_FALSE(d.done());

  auto r = decode("a\r\nb\r", DataDecoder::Mode::chunked);  // the last chunk ends in a CR
  CHECK(r.bare);
  CHECK(decode("a\nb\r\n", DataDecoder::Mode::chunked).bare);
  auto empty = decode("", DataDecoder::Mode::chunked);  // BDAT 0 LAST
  CHECK(empty.out.empty());
  CHECK_FALSE(empty.bare);
}
