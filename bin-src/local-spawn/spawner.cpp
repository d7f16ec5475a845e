// One local delivery as the recipient's user: see spawner.hpp. Runs as root in a
// child of local-spawn; the only code in quail that changes uid for a delivery.
#include "spawner.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "address.hpp"
#include "log.hpp"
#include "root.hpp"
#include "spawn.hpp"

namespace quail {

std::optional<Identity> identity_of(const std::string& login) {
  struct passwd* pw = ::getpwnam(login.c_str());
  if (!pw) return std::nullopt;
  return Identity{pw->pw_uid, pw->pw_gid, pw->pw_name};
}

bool become(const Identity& id) {
  if (id.uid == 0) return false;
  if (!id.name.empty() ? ::initgroups(id.name.c_str(), id.gid) != 0 : ::setgroups(0, nullptr) != 0) return false;
  if (::setgid(id.gid) != 0 || ::setuid(id.uid) != 0) return false;
  return ::setuid(0) != 0 && ::getuid() == id.uid && ::geteuid() == id.uid;
}

namespace {

LspawnReply temporary(const LspawnRequest& req, const std::string& why) {
  return LspawnReply{req.dlv, 111, why + " (#4.3.0)"};
}

// Whose uid a delivery runs under: a system user's own; for virtual users,
// aliases and postmaster, the owner of ROOT/mail (the mail user of the install).
std::optional<Identity> delivery_identity(const LocalConfig& cfg, const LspawnRequest& req, std::string& why) {
  auto addr = parse_address(req.recipient);
  if (addr) {
    auto target = lookup_local(cfg, *addr);
    if (!target) {
      why = target.error().reason;
      return std::nullopt;
    }
    if (target->has_value() && (*target)->kind == TargetKind::system_user) {
      const auto& t = **target;
      struct passwd* pw = ::getpwuid(t.uid);
      return Identity{t.uid, t.gid, pw ? pw->pw_name : ""};
    }
  }
  // An unknown or malformed recipient is local-deliver's to refuse, as the mail user.
  struct stat st;
  std::string mail = cfg.root + "/mail";
  if (::stat(mail.c_str(), &st) != 0) {
    why = "unable to stat " + mail + ": " + std::strerror(errno);
    return std::nullopt;
  }
  struct passwd* pw = ::getpwuid(st.st_uid);
  return Identity{st.st_uid, st.st_gid, pw ? pw->pw_name : ""};
}

}  // namespace

LspawnReply deliver_as_recipient(const LocalConfig& cfg, const LspawnRequest& req, int msg_fd) {
  std::string why;
  auto id = delivery_identity(cfg, req, why);
  if (!id) return temporary(req, why);
  if (id->uid == 0) return temporary(req, "refusing to deliver as root: " + req.recipient);

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return temporary(req, "unable to create pipe");
  Fd out_read(out[0]), out_write(out[1]);
  pid_t pid = ::fork();
  if (pid < 0) return temporary(req, "unable to fork");
  if (pid == 0) {
    if (!become(*id)) _exit(111);
    if (::dup2(msg_fd, 0) < 0 || ::dup2(out_write.get(), 1) < 0) _exit(111);
    std::string prog = bin_dir(cfg.root) + "/local-deliver";
    std::string env_root = "QUAIL_ROOT=" + cfg.root;
    std::string dlv = std::to_string(req.dlv), len = std::to_string(req.message_length);
    const char* argv[] = {prog.c_str(), dlv.c_str(), len.c_str(), req.sender.c_str(), req.recipient.c_str(), nullptr};
    const char* envp[] = {env_root.c_str(), "PATH=/usr/local/bin:/usr/bin:/bin", nullptr};
    ::execve(prog.c_str(), const_cast<char* const*>(argv), const_cast<char* const*>(envp));
    _exit(111);
  }
  out_write.reset();
  std::string reason;
  read_all(out_read.get(), reason, 4096);
  auto st = wait_for(pid);
  while (!reason.empty() && (reason.back() == '\n' || reason.back() == '\r')) reason.pop_back();
  if (auto nl = reason.find('\n'); nl != std::string::npos) reason.resize(nl);
  if (!st || st->signaled) return temporary(req, "local-deliver crashed");
  int code = st->code;
  if (code != 0 && code != 99 && code != 100 && code != 111) {
    return temporary(req, "local-deliver exited " + std::to_string(code));
  }
  return LspawnReply{req.dlv, code, reason};
}

}  // namespace quail
