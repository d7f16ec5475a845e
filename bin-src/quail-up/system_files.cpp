// Files under ROOT/run that a system install's unprivileged services must be able
// to write but cannot create there (ROOT/run is root's): see up.hpp.
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd.hpp"
#include "login_limits.hpp"
#include "up.hpp"

namespace quail::up {

Status prepare_login_failures(const std::string& root) {
  // SMTP AUTH's checkpassword runs as quail-smtpd: without this file it failed
  // every login temporarily (454), unable to create it. POP3's runs as root and
  // shares it (queue-layout/logins.md).
  struct passwd* pw = ::getpwnam("quail-smtpd");
  if (!pw) return Error{ErrorKind::permanent, "system install without the quail-smtpd user: rerun quail init --system"};
  std::string path = login_limits_path(root);
  auto fd = open_fd(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (!fd) return fd.error();
  if (::fchown(fd->get(), pw->pw_uid, pw->pw_gid) != 0) return sys_error(ErrorKind::temporary, "chown " + path);
  if (::fchmod(fd->get(), 0600) != 0) return sys_error(ErrorKind::temporary, "chmod " + path);
  return {};
}

}  // namespace quail::up
