// Local submission: addresses qualified and checked, the message read and
// rewritten, then streamed to queue-inject. See submit.hpp and man/sendmail.8.
#include "submit.hpp"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <unistd.h>

#include "address.hpp"
#include "control.hpp"
#include "date.hpp"
#include "envelope.hpp"
#include "fd.hpp"
#include "headers.hpp"
#include "inject_client.hpp"
#include "log.hpp"
#include "message.hpp"
#include "passwd_file.hpp"

namespace quail::submit {
namespace {

Error refused(std::string reason) { return Error{ErrorKind::permanent, std::move(reason)}; }

int fail(const Error& e) {
  bool permanent = e.kind == ErrorKind::permanent || e.kind == ErrorKind::format || e.kind == ErrorKind::too_long;
  log_error({{"event", "refused"}, {"reason", e.reason}});
  return permanent ? exit_permanent : exit_temporary;
}

// True when the address has an @domain after its (possibly quoted) local part.
bool has_domain(std::string_view a) {
  size_t from = 0;
  if (!a.empty() && a.front() == '"') {
    from = 1;
    while (from < a.size() && a[from] != '"') from += a[from] == '\\' ? 2 : 1;
  }
  return from < a.size() && a.find('@', from) != std::string_view::npos;
}

// An address from a header or an argument, qualified with defaultdomain and checked.
Result<std::string> qualify(const std::string& addr, const std::string& domain) {
  auto a = parse_address(has_domain(addr) ? addr : addr + "@" + domain);
  if (!a) return a.error();
  return a->str();
}

// Adds the addresses of one address list (an argument or a header field).
Status add_recipients(const std::string& list, const std::string& where, const std::string& domain,
                      std::vector<std::string>& out) {
  auto boxes = parse_address_list(list);
  if (!boxes) return refused("invalid recipient \"" + list + "\"" + where + ": " + boxes.error().reason);
  if (boxes->empty() && where.empty()) return refused("empty recipient argument");
  for (const auto& b : *boxes) {
    auto q = qualify(b.address, domain);
    if (!q) return refused("invalid recipient " + b.address + where + ": " + q.error().reason);
    if (std::find(out.begin(), out.end(), *q) == out.end()) out.push_back(*q);
  }
  return {};
}

// -t: To/Cc/Bcc, or Resent-To/Cc/Bcc when the message has any (a resent message
// goes to its new recipients only, as sendmail and qmail-inject do).
Status extract_recipients(const std::vector<HeaderField>& fields, const std::string& domain,
                          std::vector<std::string>& out) {
  bool resent = std::any_of(fields.begin(), fields.end(), [](const HeaderField& f) {
    return f.is("resent-to") || f.is("resent-cc") || f.is("resent-bcc");
  });
  for (const auto& f : fields) {
    bool use = resent ? (f.is("resent-to") || f.is("resent-cc") || f.is("resent-bcc"))
                      : (f.is("to") || f.is("cc") || f.is("bcc"));
    if (!use) continue;
    if (auto s = add_recipients(f.value(), " in the " + f.name + ": field", domain, out); !s) return s;
  }
  return {};
}

// Header fields whose addresses are qualified like the envelope's.
constexpr std::string_view address_fields[] = {"from", "sender", "reply-to", "to", "cc", "resent-from",
                                               "resent-sender", "resent-to", "resent-cc"};

// "To: carol" would mean carol at the reader's domain: an address without
// @domain gets it in place, so comments, groups and folding stay as they were
// ("From: root (Cron Daemon)"). A field that does not parse is left alone.
void qualify_header(std::vector<HeaderField>& fields, const std::string& domain) {
  for (auto& f : fields) {
    if (std::none_of(std::begin(address_fields), std::end(address_fields), [&](auto n) { return f.is(n); })) continue;
    size_t colon = f.raw.find(':') + 1;
    auto boxes = parse_address_list(std::string_view(f.raw).substr(colon));
    if (!boxes) continue;
    for (auto b = boxes->rbegin(); b != boxes->rend(); ++b) {  // from the end: offsets stay valid
      if (!has_domain(b->address) && qualify(b->address, domain)) f.raw.insert(colon + b->end, "@" + domain);
    }
  }
}

// The invoking user's login name: $USER, $LOGNAME, else getuid()'s entry in
// /etc/passwd (read by quail, not NSS: sendmail is static; see man/sendmail.8).
Result<std::string> login_name() {
  for (const char* var : {"USER", "LOGNAME"}) {
    const char* v = std::getenv(var);
    if (v && *v) return std::string(v);
  }
  auto pw = passwd_by_uid(::getuid());
  if (pw && *pw) return std::move((*pw)->name);
  return refused("unable to find a login name for uid " + std::to_string(::getuid()) + " in " + system_passwd_path +
                 (pw ? "" : " (" + pw.error().reason + ")") + ": set USER or use -f");
}

// The envelope sender: -f as given ("" or "<>" is the null sender), else user@defaultdomain.
Result<std::string> envelope_sender(const Options& opt, const std::string& user_addr, const std::string& domain) {
  if (!opt.sender_given) return user_addr;
  if (opt.sender.empty() || opt.sender == "<>") return std::string();
  auto boxes = parse_address_list(opt.sender);
  if (!boxes || boxes->size() != 1) {
    return refused("invalid sender \"" + opt.sender + "\": " + (boxes ? "not one address" : boxes.error().reason));
  }
  auto q = qualify((*boxes)[0].address, domain);
  if (!q) return refused("invalid sender \"" + opt.sender + "\": " + q.error().reason);
  return q;
}

// RFC 3461 xtext: what the envelope's envid record holds.
std::string xtext(std::string_view s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (c < 33 || c > 126 || c == '+' || c == '=') {
      out += '+';
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Writes in 64 KiB pieces so a large body is never held twice.
class Output {
 public:
  explicit Output(int fd) : fd_(fd) {}
  bool put(std::string_view s) {
    buf_ += s;
    return buf_.size() < (64u << 10) || flush();
  }
  bool flush() {
    bool ok = write_all(fd_, buf_);
    buf_.clear();
    return ok;
  }

 private:
  int fd_;
  std::string buf_;
};

}  // namespace

int submit(const Options& opt) {
  // queue-inject (and a QUEUE_PROGRAM filter) find the root in the environment:
  // make it the one --root named.
  if (::setenv("QUAIL_ROOT", opt.root.c_str(), 1) != 0) return fail(sys_error(ErrorKind::temporary, "set QUAIL_ROOT"));
  Control control(opt.root);
  auto me = control.line("me");
  if (!me) return fail(me.error());
  auto domain = control.line("defaultdomain");
  if (!domain) return fail(domain.error());
  auto user = login_name();
  if (!user) return fail(user.error());
  auto user_addr = qualify(*user, *domain);
  if (!user_addr) return fail(refused("unable to make an address of login name " + *user + ": " +
                                      user_addr.error().reason + "; use -f"));
  auto sender = envelope_sender(opt, *user_addr, *domain);
  if (!sender) return fail(sender.error());

  // Arguments are checked before the message is read: a bad one queues nothing.
  std::vector<std::string> rcpts;
  for (const auto& arg : opt.recipients) {
    if (auto s = add_recipients(arg, "", *domain, rcpts); !s) return fail(s.error());
  }
  InputReader in(0, opt.dot_ends);
  auto head = read_header(in);
  if (!head) return fail(head.error());
  if (opt.extract) {
    if (auto s = extract_recipients(head->fields, *domain, rcpts); !s) return fail(s.error());
  }
  if (rcpts.empty()) {
    return fail(refused(opt.extract ? "no recipients: the message has no To, Cc or Bcc and none were named"
                                    : "no recipients: name them as arguments or use -t"));
  }

  Envelope env;
  env.sender = *sender;
  env.ret = opt.ret;
  env.envid = xtext(opt.envid);
  env.extra.emplace_back("origin", "local");  // a local sender: remote-deliver DKIM-signs it
  for (const auto& r : rcpts) env.recipients.push_back(Recipient{r, opt.notify, ""});

  qualify_header(head->fields, *domain);
  Additions add;
  add.date = rfc5322_date(std::time(nullptr));
  add.message_id = make_message_id(*me);
  add.from = format_mailbox(opt.full_name, sender->empty() ? *user_addr : *sender);
  const std::string header = rewrite_header(head->fields, add);
  const HeaderField* mid = find_field(head->fields, "message-id");
  // UTF-8 in an address or the header needs SMTPUTF8 on the way out (Postfix's
  // autodetection for sendmail does the same).
  auto utf8 = [](std::string_view t) { return std::any_of(t.begin(), t.end(), [](char c) { return c & 0x80; }); };
  env.smtputf8 = utf8(header) || utf8(env.sender) ||
                 std::any_of(rcpts.begin(), rcpts.end(), [&](const std::string& r) { return utf8(r); });

  Status read_status;
  bool written = false;
  auto write_message = [&](int fd) {
    Output out(fd);
    std::string line = std::move(head->first_body_line);
    bool ends_in_lf = true;
    if (!out.put(header)) return false;
    for (;;) {
      if (!line.empty()) {
        if (!out.put(line)) return false;
        ends_in_lf = line.back() == '\n';
      }
      auto more = in.next(line);
      if (!more) {
        read_status = more.error();
        return false;  // the queue sees no envelope and queues nothing
      }
      if (!*more) break;
    }
    // Stored mail ends in a line end; a last line without one gets it.
    if (!ends_in_lf && !out.put("\n")) return false;
    written = out.flush();
    return written;
  };
  int code = -1;
  auto outcome = inject_message(opt.root, write_message, env, &code);
  if (!outcome) return fail(outcome.error());
  if (!read_status) return fail(read_status.error());
  if (written && code == 0) {
    log_info({{"event", "submitted"}, {"uid", ::getuid()}, {"from", "<" + env.sender + ">"},
              {"rcpts", env.recipients.size()}, {"message-id", mid ? mid->value() : add.message_id}});
    return exit_ok;
  }
  log_error({{"event", "refused"}, {"code", code}, {"reason", "queue: " + outcome->text}});
  return outcome->permanent ? exit_permanent : exit_temporary;
}

}  // namespace quail::submit
