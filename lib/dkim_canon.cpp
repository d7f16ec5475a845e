// Canonicalization and header selection: see dkim_canon.hpp.
#include "dkim_canon.hpp"

#include <sodium.h>

namespace quail::dkim {
namespace {

bool wsp(char c) { return c == ' ' || c == '\t'; }

// Lines of text: each without its LF and a CR before it; the last one without a
// final LF only when it is not empty.
template <typename F>
void each_line(std::string_view text, F f) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl;
    size_t stop = end > pos && text[end - 1] == '\r' ? end - 1 : end;
    f(text.substr(pos, stop - pos));
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
}

}  // namespace

std::string canon_header(std::string_view raw, Canon c) {
  std::string out;
  if (c == Canon::simple) {
    each_line(raw, [&](std::string_view l) {
      out.append(l);
      out += "\r\n";
    });
    return out;
  }
  size_t colon = raw.find(':');
  std::string_view name = raw.substr(0, colon);
  while (!name.empty() && wsp(name.back())) name.remove_suffix(1);
  out = ascii_lower(name);
  out += ':';
  // The value unfolded, WSP runs one space, none at either end.
  bool pending_space = false;
  bool any = false;
  for (size_t i = colon == std::string_view::npos ? raw.size() : colon + 1; i < raw.size(); ++i) {
    char ch = raw[i];
    if (ch == '\r' || ch == '\n') continue;
    if (wsp(ch)) {
      pending_space = any;
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    any = true;
    out += ch;
  }
  out += "\r\n";
  return out;
}

std::string selected_headers(const std::vector<HeaderField>& fields, const std::vector<std::string>& names, Canon c) {
  std::vector<bool> used(fields.size());
  std::string out;
  for (const auto& n : names) {
    for (size_t k = fields.size(); k-- > 0;) {
      if (!used[k] && fields[k].is(n)) {
        used[k] = true;
        out += canon_header(fields[k].raw, c);
        break;
      }
    }
  }
  return out;
}

std::string canon_body(std::string_view body, Canon c) {
  std::string out;
  out.reserve(body.size() + body.size() / 32);
  size_t kept = 0;  // out's length up to its last non-empty line
  each_line(body, [&](std::string_view l) {
    size_t before = out.size();
    if (c == Canon::relaxed) {
      bool pending = false;
      for (char ch : l) {
        if (wsp(ch)) {
          pending = true;
          continue;
        }
        if (pending) out += ' ';
        pending = false;
        out += ch;
      }
    } else {
      out.append(l);
    }
    bool empty = out.size() == before;
    out += "\r\n";
    if (!empty) kept = out.size();
  });
  out.resize(kept);
  if (out.empty() && c == Canon::simple) out = "\r\n";
  return out;
}

std::string sha256(std::string_view data) {
  std::string h(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(h.data()), reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return h;
}

}  // namespace quail::dkim
