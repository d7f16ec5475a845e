// Fuzzes SMTP AUTH's parsers (lib/sasl): the input as a base64 answer and as a
// decoded PLAIN message; also smtpd's submission header check
// (bin-src/smtpd/submission) on the same bytes as a message.
#include <cstdint>
#include <string>
#include <string_view>

#include "sasl.hpp"
#include "../../bin-src/smtpd/submission.cpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto d = quail::base64_decode(in)) {
    // What decodes encodes back to the same text: the decoder takes canonical form only.
    if (quail::base64_encode(d->str()) != in) __builtin_trap();
    (void)quail::parse_sasl_plain(*d);
  }
  if (auto l = quail::parse_sasl_plain(quail::SaslSecret(std::string(in)))) {
    if (!quail::valid_login_field(l->user) || !quail::valid_login_field(l->password.str())) __builtin_trap();
  }
  quail::smtpd::SubmissionHeaders h(
      [](const quail::Address& a) { return quail::smtpd::sender_belongs("alice@example.test", a, {"example.test"}, {"alice@example.test @x.test"}); },
      "date", "<id@x>");
  std::string out;
  size_t half = in.size() / 2;
  h.feed(in.substr(0, half), out);
  h.feed(in.substr(half), out);
  h.finish(out);
  // Nothing of the message is lost: the output is the input with fields added.
  if (out.size() < in.size()) __builtin_trap();
  return 0;
}
