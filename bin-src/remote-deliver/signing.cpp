// DKIM signing on the way out: see signing.hpp.
#include "signing.hpp"

#include <ctime>

#include "dkim.hpp"
#include "headers.hpp"
#include "log.hpp"

namespace quail::rd {
namespace {

// The domain of the message's one From address, lowercase; "" when there is not exactly one.
std::string from_domain(const std::string& message) {
  HeaderSplit split = split_message(message);
  auto fields = parse_header(std::string_view(message).substr(0, split.header_end));
  if (!fields) return "";
  const HeaderField* from = nullptr;
  for (const auto& f : *fields) {
    if (!f.is("From")) continue;
    if (from) return "";
    from = &f;
  }
  if (!from) return "";
  auto boxes = parse_address_list(from->value());
  if (!boxes || boxes->size() != 1) return "";
  const std::string& a = (*boxes)[0].address;
  size_t at = a.rfind('@');
  return at == std::string::npos ? "" : dkim::ascii_lower(a.substr(at + 1));
}

}  // namespace

bool signable_origin(const Envelope& e) {
  if (!e.auth.empty()) return true;
  for (const auto& [k, v] : e.extra) {
    if (k == "origin" && (v == "local" || v == "relayclient" || v == "list")) return true;
  }
  return false;
}

std::string signing_domain(const Envelope& e) {
  bool list = false;
  for (const auto& [k, v] : e.extra) list = list || (k == "origin" && v == "list");
  if (!list) return "";
  std::string s = e.sender;
  if (s.size() > 4 && s.compare(s.size() - 4, 4, "-@[]") == 0) s.resize(s.size() - 4);
  size_t at = s.rfind('@');
  return at == std::string::npos ? "" : dkim::ascii_lower(s.substr(at + 1));
}

Status Signer::load(const std::string& control_dir, const std::string& msg, bool signable, const std::string& message,
                    const std::string& sign_domain) {
  msg_ = msg;
  if (!signable) return {};
  std::string domain = sign_domain.empty() ? from_domain(message) : sign_domain;
  if (domain.empty()) return {};
  auto keys = dkim::signing_keys(control_dir, domain);
  if (!keys) return keys.error();
  keys_ = std::move(*keys);
  return {};
}

std::string Signer::fields(const std::string& message) const {
  if (keys_.empty()) return "";
  std::vector<dkim::SigningKey> use;
  for (const auto& k : keys_) use.push_back({k.domain, k.selector, &k.key});
  auto sig = dkim::sign(message, use, static_cast<int64_t>(std::time(nullptr)));
  if (!sig) {
    // XXX sent unsigned: a key that loaded and then fails to sign is OpenSSL trouble.
    log_warn({{"msg", msg_}, {"event", "dkim_sign"}, {"result", "failed"}, {"reason", sig.error().reason}});
    return "";
  }
  std::string sels;
  for (const auto& k : keys_) sels += (sels.empty() ? "" : ",") + k.selector;
  log_info({{"msg", msg_}, {"event", "dkim_sign"}, {"d", keys_.front().domain}, {"s", sels}});
  return *sig;
}

}  // namespace quail::rd
