// The users and groups of a system install: see system_accounts.hpp.
#include "system_accounts.hpp"

#include <algorithm>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "fd.hpp"
#include "spawn.hpp"

namespace quail {
namespace {

// Every group the accounts name: membership in these is ours to keep exact.
std::vector<std::string> our_groups() {
  std::vector<std::string> out;
  for (const auto& a : system_accounts()) {
    for (const auto& g : a.groups) {
      if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
    }
    if (std::find(out.begin(), out.end(), a.group) == out.end()) out.push_back(a.group);
  }
  return out;
}

bool listed_member(const std::string& group, const std::string& user) {
  struct group* gr = ::getgrnam(group.c_str());
  if (!gr) return false;
  for (char** m = gr->gr_mem; *m; ++m) {
    if (user == *m) return true;
  }
  return false;
}

std::string tool(const std::string& name) {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) {
    std::string p = dir + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "/usr/sbin/" + name;
}

Status run_tool(std::vector<std::string> argv) {
  argv[0] = tool(argv[0]);
  // gpasswd tells what it did on stdout, which is quail check's report.
  Fd null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  SpawnOptions opt;
  if (null.valid()) opt.fd_map = {{1, null.get()}};
  auto pid = spawn(argv, opt);
  if (!pid) return pid.error();
  auto st = wait_for(*pid);
  if (!st) return st.error();
  if (!st->ok()) {
    std::string line;
    for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
    return Error{ErrorKind::temporary, "unable to run " + line + ": it failed"};
  }
  return {};
}

Status ensure_group(const std::string& name) {
  if (::getgrnam(name.c_str())) return {};
  return run_tool({"groupadd", "--system", name});
}

}  // namespace

const std::vector<SystemAccount>& system_accounts() {
  // Only queue-inject's and queue-send's users are in the queue's group; queue-send's
  // own group runs remote-deliver; smtpd reads the user tables through the mail
  // user's group. Everything else: a group of its own.
  static const std::vector<SystemAccount> accounts = {
      {"quail-queue", queue_group, {}},
      {"quail-send", remote_group, {queue_group}},
      {"quail-smtpd", "quail-smtpd", {users_group}},
      {"quail-remote", "quail-remote", {}},
      {"quail-log", "quail-log", {}},
      {"quail-mail", users_group, {}},
  };
  return accounts;
}

Result<std::string> account_difference(const SystemAccount& a) {
  passwd* pw = ::getpwnam(a.user.c_str());
  if (!pw) return Error{ErrorKind::not_found, "no user " + a.user};
  std::string out;
  group* primary = ::getgrnam(a.group.c_str());
  if (!primary || pw->pw_gid != primary->gr_gid) {
    group* now = ::getgrgid(pw->pw_gid);
    out = "primary group " + (now ? std::string(now->gr_name) : std::to_string(pw->pw_gid)) + ", want " + a.group;
  }
  for (const auto& g : our_groups()) {
    bool want = std::find(a.groups.begin(), a.groups.end(), g) != a.groups.end();
    if (listed_member(g, a.user) == want) continue;
    out += (out.empty() ? "" : "; ") + std::string(want ? "not in group " : "in group ") + g;
  }
  return out;
}

Status ensure_account(const SystemAccount& a, const std::string& home) {
  if (::geteuid() != 0) return Error{ErrorKind::permanent, "--system needs root"};
  if (auto s = ensure_group(a.group); !s) return s;
  for (const auto& g : a.groups) {
    if (auto s = ensure_group(g); !s) return s;
  }
  passwd* pw = ::getpwnam(a.user.c_str());
  if (!pw) {
    if (auto s = run_tool({"useradd", "--system", "--gid", a.group, "--home-dir", home, "--no-create-home", "--shell",
                           "/usr/sbin/nologin", a.user});
        !s) {
      return s;
    }
  } else if (group* gr = ::getgrnam(a.group.c_str()); !gr || pw->pw_gid != gr->gr_gid) {
    if (auto s = run_tool({"usermod", "--gid", a.group, a.user}); !s) return s;
  }
  for (const auto& g : our_groups()) {
    bool want = std::find(a.groups.begin(), a.groups.end(), g) != a.groups.end();
    if (listed_member(g, a.user) == want) continue;
    if (auto s = run_tool({"gpasswd", want ? "--add" : "--delete", a.user, g}); !s) return s;
  }
  return {};
}

}  // namespace quail
