// quail init --system: the users and ownerships of a privilege-separated install.
// Owners and modes follow queue-layout/README.md; the table is in man/quail.8.
// At run time quail up starts queue-send under local-spawn (root) as quail-send and
// tcpserver drops to quail-smtpd (with its groups); queue-inject is a set-uid
// quail-queue copy and remote-deliver a set-uid quail-remote copy.
#include <cerrno>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "durable.hpp"
#include "fd.hpp"
#include "init.hpp"
#include "queue_file.hpp"
#include "queue_owners.hpp"
#include "system_accounts.hpp"

namespace quail::init {
// One group per purpose (lib/system_accounts, queue-layout/privileges.md); users
// made by an older quail init --system get their new groups here.
Status create_system_users(const std::string& root) {
  if (::geteuid() != 0) return Error{ErrorKind::permanent, "--system needs root"};
  for (const auto& a : system_accounts()) {
    if (auto s = ensure_account(a, root); !s) return s;
  }
  return {};
}

// A program becomes a set-uid copy (never a link: a set-id program takes its root
// from where its file lives, lib/root.cpp), owned as system_root_owners says.
// queue-inject: any local user can inject without a set-uid-root program.
// remote-deliver (mode 4710, group quail-send: only queue-send runs it): it runs
// as quail-remote, which owns control/smtpauth and nothing else; the queue file
// it delivers is the descriptor queue-send opened.
Status install_setuid_copy(const std::string& root, const std::string& program) {
  std::string link = root + "/bin/" + program;
  char target[4096];
  ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  if (n <= 0) return sys_error(ErrorKind::temporary, "read link " + link);
  auto bytes = read_file(std::string(target, static_cast<size_t>(n)), 64 << 20);
  if (!bytes) return bytes.error();
  if (::unlink(link.c_str()) != 0) return sys_error(ErrorKind::temporary, "remove " + link);
  return write_file_durable(link, *bytes, 0700);
}

// control/smtpauth holds relay passwords: only remote-deliver's user may read it.
Status install_smtpauth(const std::string& root) {
  std::string path = root + "/control/smtpauth";
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return write_file_durable(path, "", 0600);
  return {};
}

Status chown_system_layout(const std::string& root) {
  QueueDirs q(root);
  if (auto s = install_setuid_copy(root, "queue-inject"); !s) return s;
  struct stat st;
  if (::lstat((root + "/bin/remote-deliver").c_str(), &st) == 0) {
    if (auto s = install_setuid_copy(root, "remote-deliver"); !s) return s;
  }
  if (auto s = install_smtpauth(root); !s) return s;
  // The owners are shared with quail check --repair (lib/queue_owners).
  for (const auto& o : system_queue_owners(q)) {
    if (auto s = apply_ownership(o); !s) return s;
  }
  if (auto s = own_tree(root + "/mail", "quail-mail", users_group); !s) return s;
  for (const auto& o : system_root_owners(root)) {
    if (o.optional && ::lstat(o.path.c_str(), &st) != 0) continue;
    if (auto s = apply_ownership(o); !s) return s;
  }
  return {};
}

}  // namespace quail::init
