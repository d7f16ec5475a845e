// Delivery attempts: see delivery.hpp. Reasons from children are cleaned to one
// line and given an RFC 3463 code when they lack one, so a DSN can be built from them.
#include "delivery.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include "bounce.hpp"
#include "queue_stat.hpp"

namespace quail {
namespace {

constexpr size_t max_report = 1 << 20;

// The reason as one clean line with a code of the verdict's class at its end.
std::string with_code(std::string_view text, Verdict v, std::string_view fallback_text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  std::string r = stat_clean_reason(text.empty() ? fallback_text : text);
  if (v == Verdict::delivered) return r;
  // dsn_status() returns its fallback when there is no "(#x.y.z)" at the end.
  bool has_code = dsn_status(r, "") != "";
  if (!has_code) return r + (v == Verdict::failed ? " (#5.0.0)" : " (#4.3.0)");
  if (v == Verdict::failed && r.size() > 3) {
    size_t open = r.rfind("(#");
    if (r[open + 2] == '4') r[open + 2] = '5';  // a permanent verdict reports class 5
  }
  return r;
}

std::string first_line(std::string_view s) { return std::string(s.substr(0, s.find('\n'))); }

}  // namespace

Status launch(Attempt& a, const LaunchSpec& spec) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return sys_error(ErrorKind::temporary, "create pipe");
  Fd rd(p[0]), wr(p[1]);
  if (::fcntl(rd.get(), F_SETFL, O_NONBLOCK) != 0) return sys_error(ErrorKind::temporary, "set pipe non-blocking");
  SpawnOptions opt;
  opt.fd_map = {{0, spec.message_fd}, {1, wr.get()}};
  opt.env = spec.env;
  opt.set_env = true;
  std::vector<std::string> argv{spec.program};
  argv.insert(argv.end(), spec.args.begin(), spec.args.end());
  auto pid = spawn(argv, opt);
  if (!pid) return pid.error();
  a.pid = *pid;
  a.out = std::move(rd);
  return {};
}

void drain_output(Attempt& a) {
  char buf[8192];
  while (a.out.valid()) {
    ssize_t n = ::read(a.out.get(), buf, sizeof buf);
    if (n > 0) {
      size_t room = max_report - std::min(max_report, a.report.size());
      a.report.append(buf, std::min(room, static_cast<size_t>(n)));  // the rest is read and dropped
      continue;
    }
    if (n == 0) a.eof = true;
    if (n < 0 && errno == EINTR) continue;
    return;  // EAGAIN: nothing more now
  }
}

RcptResult local_result(const ExitStatus& st, std::string_view out) {
  std::string text = first_line(out);
  if (st.signaled) {
    return {Verdict::deferred, "local-deliver was killed by signal " + std::to_string(st.code) + " (#4.3.0)"};
  }
  switch (st.code) {
    case 0:
    case 99:
      return {Verdict::delivered, with_code(text, Verdict::delivered, "delivered")};
    case 100:
      return {Verdict::failed, with_code(text, Verdict::failed, "local-deliver gave no reason")};
    case 111:
      return {Verdict::deferred, with_code(text, Verdict::deferred, "local-deliver gave no reason")};
    default:
      // Never bounce for our own trouble (DESIGN.md): an unknown code is temporary.
      return {Verdict::deferred, "local-deliver exited " + std::to_string(st.code) +
                                     (text.empty() ? "" : ": " + stat_clean_reason(text)) + " (#4.3.0)"};
  }
}

std::vector<RcptResult> remote_results(const ExitStatus& st, std::string_view report, size_t recipients) {
  std::vector<std::string_view> items;
  size_t pos = 0;
  while (items.size() < recipients + 1) {
    size_t nul = report.find('\0', pos);
    if (nul == std::string_view::npos) break;
    items.push_back(report.substr(pos, nul - pos));
    pos = nul + 1;
  }
  std::string trouble;
  if (st.signaled) {
    trouble = "remote-deliver was killed by signal " + std::to_string(st.code) + " (#4.3.0)";
  } else if (st.code != 0) {
    trouble = "remote-deliver exited " + std::to_string(st.code) + " (#4.3.0)";
  } else if (items.size() != recipients + 1 || items.back().empty() ||
             (items.back()[0] != 'K' && items.back()[0] != 'Z' && items.back()[0] != 'D')) {
    trouble = "remote-deliver's report was truncated (#4.3.0)";
  }
  std::vector<RcptResult> out(recipients);
  if (!trouble.empty()) {
    for (auto& r : out) r = {Verdict::deferred, trouble};
    return out;
  }
  std::string_view fin = items.back();
  Verdict fin_verdict = fin[0] == 'K' ? Verdict::delivered : fin[0] == 'D' ? Verdict::failed : Verdict::deferred;
  std::string_view fin_text = fin.substr(1);
  bool peer_dsn = fin[0] == 'K' && fin_text.starts_with("DSN ");
  if (peer_dsn) fin_text.remove_prefix(4);
  for (size_t n = 0; n < recipients; ++n) {
    std::string_view it = items[n];
    char c = it.empty() ? '?' : it[0];
    std::string_view text = it.empty() ? it : it.substr(1);
    if (c == 'r') {
      out[n] = {fin_verdict, with_code(fin_text, fin_verdict, "remote-deliver gave no reason"), peer_dsn};
    } else if (c == 'h') {
      out[n] = {Verdict::failed, with_code(text, Verdict::failed, "remote-deliver gave no reason")};
    } else if (c == 's') {
      out[n] = {Verdict::deferred, with_code(text, Verdict::deferred, "remote-deliver gave no reason")};
    } else {
      out[n] = {Verdict::deferred, "remote-deliver's report was malformed (#4.3.0)"};
    }
  }
  return out;
}

}  // namespace quail
