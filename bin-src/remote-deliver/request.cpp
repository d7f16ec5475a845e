// Reading the request: see request.hpp.
#include "request.hpp"

#include <charconv>
#include <cstdlib>
#include <sys/stat.h>

#include "fd.hpp"
#include "headers.hpp"
#include "mime_downgrade.hpp"
#include "signing.hpp"

namespace quail::rd {
namespace {

constexpr size_t max_envelope = 64u << 20;

bool non_ascii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// The message and its envelope from fd (at the message), and the queue id.
Result<Envelope> read_message(int fd, uint64_t length, Request& q) {
  struct stat st;
  if (::fstat(fd, &st) == 0) q.msg = std::to_string(st.st_ino);
  if (length > (uint64_t{1} << 34)) return Error{ErrorKind::temporary, "the message length is out of range"};
  q.message.resize(length);
  ssize_t n = read_full(fd, q.message.data(), length);
  if (n < 0) return sys_error(ErrorKind::temporary, "read the message");
  if (static_cast<uint64_t>(n) != length) return Error{ErrorKind::temporary, "the message is shorter than its length"};
  std::string env_bytes;
  if (!read_all(fd, env_bytes, max_envelope)) return sys_error(ErrorKind::temporary, "read the envelope");
  auto env = parse_envelope(env_bytes);
  if (!env) return Error{ErrorKind::temporary, "the queue file's envelope does not parse: " + env.error().reason};
  q.ret = env->ret;
  q.envid = env->envid;
  q.signable = signable_origin(*env);
  q.sign_domain = signing_domain(*env);
  return env;
}

// What the header and addresses say about how the message must travel.
void examine(Request& q, bool smtputf8) {
  HeaderSplit split = split_message(q.message);
  std::string_view header(q.message.data(), split.header_end);
  if (auto fields = parse_header(header)) {
    for (const auto& f : *fields) q.received += f.is("Received") ? 1 : 0;
  }
  q.body_8bit = has_8bit(q.message);
  bool utf8_address = non_ascii(q.sender);
  for (const auto& r : q.rcpts) utf8_address = utf8_address || non_ascii(r.address);
  q.needs_smtputf8 = utf8_address || (smtputf8 && non_ascii(header));
}

}  // namespace

Result<Request> read_request(int argc, char** argv) {
  Request q;
  q.domain = lower(argv[1]);
  q.sender = argv[2];
  const char* len_text = std::getenv("QUAIL_MESSAGE_LENGTH");
  std::string_view lt = len_text ? len_text : "";
  uint64_t length = 0;
  auto [end, ec] = std::from_chars(lt.data(), lt.data() + lt.size(), length);
  if (lt.empty() || ec != std::errc() || end != lt.data() + lt.size() || length > (uint64_t{1} << 34)) {
    return Error{ErrorKind::temporary, "QUAIL_MESSAGE_LENGTH is not a length"};
  }
  auto env = read_message(0, length, q);
  if (!env) return env.error();
  // Each argument takes the DSN records of the first unused envelope recipient of
  // that address (VERP changes the return path, never the recipients).
  std::vector<bool> used(env->recipients.size());
  for (int i = 3; i < argc; ++i) {
    Recipient r{argv[i], "", ""};
    for (size_t k = 0; k < env->recipients.size(); ++k) {
      if (!used[k] && env->recipients[k].address == r.address) {
        used[k] = true;
        r = env->recipients[k];
        break;
      }
    }
    q.rcpts.push_back(std::move(r));
  }
  examine(q, env->smtputf8);
  return q;
}

Result<Request> read_job(const std::string& domain, int fd, uint64_t length, const std::vector<uint32_t>& rcpts) {
  Request q;
  q.domain = domain;
  auto env = read_message(fd, length, q);
  if (!env) return env.error();
  q.sender = env->sender;
  for (uint32_t n : rcpts) {
    if (n >= env->recipients.size()) return Error{ErrorKind::temporary, "the job names a recipient the envelope lacks"};
    q.rcpts.push_back(env->recipients[n]);
  }
  examine(q, env->smtputf8);
  return q;
}

std::string without_stray_cr_nul(std::string message) {
  for (size_t i = message.find_first_of(std::string_view("\r\0", 2)); i != std::string::npos;
       i = message.find_first_of(std::string_view("\r\0", 2), i + 1)) {
    if (message[i] == '\0' || i + 1 == message.size() || message[i + 1] != '\n') message[i] = ' ';
  }
  return message;
}

std::string wire_form(const std::string& message) {
  std::string out;
  out.reserve(message.size() + message.size() / 32 + 8);
  size_t pos = 0;
  while (pos < message.size()) {
    size_t nl = message.find('\n', pos);
    size_t end = nl == std::string::npos ? message.size() : nl;
    if (message[pos] == '.') out += '.';
    size_t stop = end > pos && message[end - 1] == '\r' ? end - 1 : end;
    out.append(message, pos, stop - pos);
    out += "\r\n";
    pos = end + 1;
  }
  out += ".\r\n";
  return out;
}

}  // namespace quail::rd
