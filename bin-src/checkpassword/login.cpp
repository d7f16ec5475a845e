// Virtual and system logins: see login.hpp and man/checkpassword.8.
#include "login.hpp"

#include <crypt.h>
#include <cstring>
#include <ctime>
#include <sodium.h>
#include <sys/stat.h>

#include "passwd_file.hpp"
#include "password.hpp"
#include "shadow_file.hpp"
#include "users_table.hpp"

namespace quail::checkpassword {
namespace {

// Spends what a real check would, for a name that cannot log in.
void waste_a_check(const Secret& password) { (void)hash_password(password); }

// crypt(3) of password with the hash's salt, compared in constant time.
bool crypt_matches(const std::string& hash, const Secret& password) {
  struct crypt_data data {};
  const char* out = ::crypt_r(password.view().c_str(), hash.c_str(), &data);
  bool ok = out && out[0] != '*' && std::strlen(out) == hash.size() &&
            sodium_memcmp(out, hash.data(), hash.size()) == 0;
  sodium_memzero(&data, sizeof data);
  return ok;
}

Result<Verdict> check_virtual(const std::string& root, const Credentials& c) {
  auto name = parse_user_name(c.user);
  if (!name) {
    waste_a_check(c.password);
    return Verdict{std::nullopt, "unknown user"};
  }
  auto entry = lookup_user(root, name->key());
  if (!entry) return entry.error();
  if (!*entry) {
    waste_a_check(c.password);
    return Verdict{std::nullopt, "unknown user"};
  }
  // Checked even for a disabled user, so the answer's time says nothing.
  bool right = verify_password((*entry)->hash, c.password);
  if (!right) return Verdict{std::nullopt, "wrong password"};
  if ((*entry)->disabled) return Verdict{std::nullopt, "disabled user"};
  Login l;
  l.user = name->key();
  l.home = root + "/mail/" + name->domain + "/" + name->local;
  l.maildir = l.home + "/Maildir/";
  // In a system install the virtual users' mail belongs to the owner of ROOT/mail.
  struct stat st;
  std::string mail = root + "/mail";
  if (::stat(mail.c_str(), &st) != 0) return sys_error(ErrorKind::temporary, "stat " + mail);
  if (st.st_uid != 0) {
    auto pw = passwd_by_uid(st.st_uid);
    l.become = Identity{st.st_uid, st.st_gid, pw && *pw ? (*pw)->name : std::string()};
  }
  return Verdict{std::move(l), ""};
}

Result<Verdict> check_system(const Credentials& c) {
  auto pw = passwd_by_name(c.user);
  if (!pw) return pw.error();
  auto sh = shadow_by_name(c.user);
  if (!sh) return sh.error();
  if (!*pw || !*sh) {
    waste_a_check(c.password);
    return Verdict{std::nullopt, "unknown user"};
  }
  const PasswdEntry& p = **pw;
  const ShadowEntry& s = **sh;
  std::string why;
  struct stat st;
  if (p.uid < min_login_uid) why = "system account";
  else if (!usable_crypt_hash(s.hash)) why = "locked login";
  else if (s.expire && *s.expire * 86400 <= std::time(nullptr)) why = "expired login";
  else if (p.dir.empty() || ::stat(p.dir.c_str(), &st) != 0 || st.st_uid != p.uid) why = "home not owned by the login";
  if (!why.empty()) {
    waste_a_check(c.password);
    return Verdict{std::nullopt, why};
  }
  if (!crypt_matches(s.hash, c.password)) return Verdict{std::nullopt, "wrong password"};
  Login l{p.name, p.dir, p.dir + "/Maildir/", Identity{p.uid, p.gid, p.name}};
  return Verdict{std::move(l), ""};
}

}  // namespace

Result<Verdict> check_login(const std::string& root, bool system, const Credentials& c) {
  if (c.user.find('@') != std::string::npos) return check_virtual(root, c);
  if (system) return check_system(c);
  waste_a_check(c.password);
  return Verdict{std::nullopt, "unknown user"};
}

}  // namespace quail::checkpassword
