// Delivery instructions: see instructions.hpp. Trace lines and environment follow
// qmail-local and qmail-command(8), without any virtual-domain prefix (DESIGN.md).
#include "instructions.hpp"

#include <algorithm>
#include <ctime>
#include <sys/stat.h>

#include "date.hpp"
#include "forward.hpp"
#include "mbox.hpp"
#include "message.hpp"
#include "command.hpp"
#include "control.hpp"

extern char** environ;

namespace quail::ld {
namespace {

const char* const owned_vars[] = {"USER", "HOME", "LOCAL", "HOST", "RECIPIENT", "SENDER", "EXT", "EXT2",
                                  "EXT3", "EXT4", "HOST2", "HOST3", "HOST4", "DEFAULT", "DTLINE", "RPLINE",
                                  "UFLINE", "NEWSENDER"};

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Length of the user's part of the local part ("alice" in "alice-foo").
size_t user_length(const LocalTarget& t, size_t local_size) {
  if (t.ext.empty()) return local_size;
  return std::min(local_size, local_size - t.ext.size() - 1);
}

// qmail: NEWSENDER is local-owner@host when .qmail[-ext]-owner exists, and the
// VERP form local-owner-@host-@[] when .qmail[-ext]-owner-default exists too.
std::string owner_sender(const Context& c, const std::string& local) {
  if (c.sender.empty() || c.sender == "#@[]" || c.target.kind == TargetKind::alias) return c.sender;
  std::string ext = lowercase(c.target.ext);
  std::replace(ext.begin(), ext.end(), '.', ':');
  if (ext.find('/') != std::string::npos) return c.sender;
  std::string base = c.target.home + "/.qmail" + (ext.empty() ? "" : "-" + ext) + "-owner";
  if (!file_exists(base)) return c.sender;
  if (file_exists(base + "-default")) return local + "-owner-@" + c.rcpt.domain() + "-@[]";
  return local + "-owner@" + c.rcpt.domain();
}

// What follows the first '-' of s, or "" (qmail's EXT2..EXT4).
std::string after_dash(const std::string& s) {
  size_t d = s.find('-');
  return d == std::string::npos ? std::string() : s.substr(d + 1);
}

// s up to its last '.' (qmail's HOST2..HOST4; all of s when it has none).
std::string before_dot(const std::string& s) { return s.substr(0, std::min(s.rfind('.'), s.size())); }

}  // namespace

Runner::Runner(const Context& ctx) : ctx_(ctx) {
  dtline_ = "Delivered-To: " + ctx.recipient() + "\n";
  rpline_ = "Return-Path: <" + ctx.sender + ">\n";
  ufline_ = "From " + (ctx.sender.empty() ? std::string("MAILER-DAEMON") : ctx.sender) + " " +
            asctime_date(std::time(nullptr)) + "\n";
  new_sender_ = owner_sender(ctx, plain_local_part(ctx.rcpt.local()));
}

std::string Runner::path_in_home(const std::string& path) const {
  if (!path.empty() && path.front() == '/') return path;
  std::string p = path.substr(0, 2) == "./" ? path.substr(2) : path;
  return ctx_.target.home + "/" + p;
}

Step Runner::maildir(const std::string& path) {
  std::string dir = path_in_home(path);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  auto r = maildir_deliver(dir, rpline_ + dtline_, ctx_.msg);
  if (!r) return temporary(r.error(), r.error().kind == ErrorKind::not_found ? "4.2.1" : "4.3.0");
  return ok_step();
}

Step Runner::mbox(const std::string& path) {
  auto s = mbox_deliver(path_in_home(path), ufline_, rpline_ + dtline_, ctx_.msg);
  if (!s) return temporary(s.error(), s.error().kind == ErrorKind::io_write ? "4.3.0" : "4.2.1");
  return ok_step();
}

std::vector<std::string> Runner::environment() const {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    std::string_view name = kv.substr(0, kv.find('='));
    bool ours = std::any_of(std::begin(owned_vars), std::end(owned_vars), [&](const char* v) { return name == v; });
    if (!ours) env.emplace_back(kv);
  }
  const LocalTarget& t = ctx_.target;
  std::string local = plain_local_part(ctx_.rcpt.local());
  size_t ulen = user_length(t, local.size());
  std::string ext = ulen < local.size() ? local.substr(ulen + 1) : "";
  std::string host = ctx_.rcpt.domain();
  std::string ext2 = after_dash(ext), ext3 = after_dash(ext2), ext4 = after_dash(ext3);
  std::string host2 = before_dot(host), host3 = before_dot(host2), host4 = before_dot(host3);
  std::string user = t.kind == TargetKind::alias ? "alias" : t.user;
  env.insert(env.end(), {"USER=" + user, "HOME=" + t.home, "LOCAL=" + local, "HOST=" + host,
                         "RECIPIENT=" + local + "@" + host, "SENDER=" + ctx_.sender, "EXT=" + ext, "EXT2=" + ext2,
                         "EXT3=" + ext3, "EXT4=" + ext4, "HOST2=" + host2, "HOST3=" + host3, "HOST4=" + host4,
                         "DTLINE=" + dtline_, "RPLINE=" + rpline_, "UFLINE=" + ufline_,
                         "NEWSENDER=" + new_sender_});
  // DEFAULT: what "default" stood for, in the case it was addressed with.
  if (!t.default_part.empty() && t.default_part.size() <= ext.size()) {
    env.push_back("DEFAULT=" + ext.substr(ext.size() - t.default_part.size()));
  } else if (t.dotqmail.size() >= 8 && t.dotqmail.substr(t.dotqmail.size() - 8) == "-default") {
    env.push_back("DEFAULT=");
  }
  return env;
}

Step Runner::program(const std::string& command) {
  if (!stdin_.valid()) {
    auto fd = message_memfd(ctx_.msg);
    if (!fd) return temporary(fd.error());
    stdin_ = std::move(*fd);
  }
  // Read for this program only: a delivery without one never opens the file.
  auto limit = Control(ctx_.root).integer("timeoutprogram");
  if (!limit) return temporary(limit.error(), "4.3.5");
  return run_program(ProgramRun{command, stdin_.get(), ctx_.target.home, environment(), *limit});
}

void Runner::forward(const std::string& address) {
  std::string a = address.find('@') == std::string::npos ? address + "@" + ctx_.rcpt.domain() : address;
  forwards_.push_back(a);
}

Step Runner::finish_forwards() {
  if (forwards_.empty()) return ok_step();
  return inject_forwards(ctx_, dtline_, new_sender_, forwards_);
}

}  // namespace quail::ld
