// Signing (RFC 6376 5): relaxed/relaxed, the usual fields, From oversigned. See dkim.hpp.
#include "dkim.hpp"
#include "dkim_canon.hpp"
#include "sasl.hpp"

namespace quail::dkim {
namespace {

// Appends token to a folded field value: a new line (LF TAB) when the current one
// would pass 76 bytes.
void append_folded(std::string& out, size_t& line_len, std::string_view token, bool space_before) {
  if (line_len + token.size() + 1 > 76 && line_len > 1) {
    out += "\n\t";
    line_len = 1;
  } else if (space_before) {
    out += ' ';
    ++line_len;
  }
  out += token;
  line_len += token.size();
}

}  // namespace

const std::vector<std::string_view>& signed_field_names() {
  static const std::vector<std::string_view> names = {
      "from", "reply-to", "subject", "date", "to", "cc", "message-id", "in-reply-to", "references",
      "mime-version", "content-type", "content-transfer-encoding", "content-disposition",
      "resent-date", "resent-from", "resent-to", "resent-cc", "resent-message-id",
      "list-id", "list-help", "list-unsubscribe", "list-unsubscribe-post", "list-subscribe", "list-post", "list-owner",
      "list-archive", "sender", "organization"};
  return names;
}

Result<std::string> sign(std::string_view message, const std::vector<SigningKey>& keys, int64_t now) {
  HeaderSplit split = split_message(message);
  auto fields = parse_header(message.substr(0, split.header_end));
  if (!fields) return fields.error();
  std::vector<std::string> names;
  for (auto n : signed_field_names()) {
    size_t count = 0;
    for (const auto& f : *fields) count += f.is(n) ? 1 : 0;
    if (n == "from") ++count;
    names.insert(names.end(), count, std::string(n));
  }
  std::string_view body = split.body_start <= message.size() ? message.substr(split.body_start) : std::string_view();
  std::string bh = base64_encode(sha256(canon_body(body, Canon::relaxed)));
  std::string headers = selected_headers(*fields, names, Canon::relaxed);
  std::string out;
  for (const auto& k : keys) {
    std::string field = "DKIM-Signature:";
    size_t len = field.size();
    for (std::string tag : {std::string("v=1;"), "a=" + k.key->algorithm_name() + ";", std::string("c=relaxed/relaxed;"), "d=" + k.domain + ";",
                            "s=" + k.selector + ";", "t=" + std::to_string(now) + ";"}) {
      append_folded(field, len, tag, true);
    }
    for (size_t i = 0; i < names.size(); ++i) {
      std::string tok = (i == 0 ? "h=" : "") + names[i] + (i + 1 == names.size() ? ";" : ":");
      append_folded(field, len, tok, i == 0);
    }
    append_folded(field, len, "bh=" + bh + ";", true);
    append_folded(field, len, "b=", true);
    std::string own = canon_header(field, Canon::relaxed);
    own.resize(own.size() - 2);
    auto sig = k.key->sign(sha256(headers + own));
    if (!sig) return sig.error();
    std::string b = base64_encode(*sig);
    for (size_t pos = 0; pos < b.size(); pos += 64) append_folded(field, len, std::string_view(b).substr(pos, 64), false);
    out += field + "\n";
  }
  return out;
}

}  // namespace quail::dkim
