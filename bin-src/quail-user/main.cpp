// quail user: manage virtual users in ROOT/users/users.cdb (add, del, passwd,
// disable, enable, list). Rewrites are whole-table, atomic, under users/.lock so
// concurrent commands never lose an update. See man/quail.8 ("user").
#include <cerrno>
#include <getopt.h>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "control.hpp"
#include "durable.hpp"
#include "fd.hpp"
#include "password_input.hpp"
#include "program.hpp"
#include "service_cli.hpp"
#include "service_lock.hpp"
#include "users_table.hpp"

namespace {

namespace admin = quail::admin;
using quail::Status;
using quail::UserName;

constexpr std::string_view usage_text =
    "usage: quail user add|del|passwd|disable|enable USER@DOMAIN\n"
    "       quail user list [-v]\n";

int usage() {
  admin::say("user", "usage error");
  (void)quail::write_all(2, usage_text);
  return admin::usage;
}

int fail(const quail::Error& e) {
  admin::say("user", e.reason);
  return admin::exit_code(e.kind);
}

// A user may be added only at a domain this host delivers: virtualdomains or locals.
Status check_domain(const std::string& root, const std::string& domain) {
  quail::Control control(root);
  for (const char* file : {"virtualdomains", "locals"}) {
    auto list = control.list(file);
    if (!list) return list.error();
    for (const auto& d : *list) {
      if (d == domain) return {};
    }
  }
  return quail::Error{quail::ErrorKind::permanent,
                      "domain " + domain + " is in neither control/virtualdomains nor control/locals"};
}

// Makes one directory of a home. In a system install (root runs this, ROOT/mail
// belongs to the mail user) it is given to the mail user; the domain and home
// directories are then 0750 so smtpd (in group quail-mail, the group of mail/) can
// see which .qmail files exist.
Status make_home_dir(const std::string& path, const struct stat& mail, bool shared) {
  bool system = ::geteuid() == 0 && mail.st_uid != 0;
  mode_t mode = system && shared ? 0750 : 0700;
  if (::mkdir(path.c_str(), mode) != 0) {
    if (errno == EEXIST) return {};
    return quail::sys_error(quail::ErrorKind::temporary, "mkdir " + path);
  }
  if (system && ::chown(path.c_str(), mail.st_uid, mail.st_gid) != 0) {
    return quail::sys_error(quail::ErrorKind::temporary, "chown " + path);
  }
  return {};
}

// ROOT/mail/<domain>/<user>/Maildir/{tmp,new,cur}; existing directories are kept.
Status make_home(const std::string& root, const UserName& n) {
  std::string path = root + "/mail";
  struct stat mail;
  if (::stat(path.c_str(), &mail) != 0) return quail::sys_error(quail::ErrorKind::temporary, "stat " + path);
  for (const std::string& part : {n.domain, n.local, std::string("Maildir")}) {
    path += "/" + part;
    if (auto s = make_home_dir(path, mail, part != "Maildir"); !s) return s;
    if (auto s = quail::fsync_dir(quail::dir_of(path)); !s) return s;
  }
  for (const char* sub : {"tmp", "new", "cur"}) {
    if (auto s = make_home_dir(path + "/" + sub, mail, false); !s) return s;
  }
  return quail::fsync_dir(path);
}

// Applies change to the table under the lock; change returns admin::ok or the code to exit with.
template <typename F>
int rewrite(const std::string& root, F change) {
  auto lock = quail::FileLock::acquire(quail::users_lock_path(root));
  if (!lock) return fail(lock.error());
  auto users = quail::load_users(root);
  if (!users) return fail(users.error());
  int code = change(*users);
  if (code != admin::ok) return code;
  if (auto s = quail::save_users(root, *users); !s) return fail(s.error());
  return admin::ok;
}

int no_such_user(const UserName& n) {
  admin::say("user", "no such user: " + n.key());
  return admin::no;
}

int add(const std::string& root, const UserName& n) {
  if (auto s = check_domain(root, n.domain); !s) return fail(s.error());
  auto existing = quail::lookup_user(root, n.key());
  if (!existing) return fail(existing.error());
  if (*existing) {
    admin::say("user", "user exists: " + n.key());
    return admin::no;
  }
  // Hash before taking the lock: argon2id takes a while and others may be waiting.
  auto pw = quail::read_new_password();
  if (!pw) return fail(pw.error());
  auto hash = quail::hash_password(*pw);
  if (!hash) return fail(hash.error());
  // The home exists before the user does, so mail is never accepted for a user without a Maildir.
  if (auto s = make_home(root, n); !s) return fail(s.error());
  return rewrite(root, [&](quail::UsersMap& users) {
    if (!users.emplace(n.key(), *hash).second) {
      admin::say("user", "user exists: " + n.key());
      return admin::no;
    }
    return admin::ok;
  });
}

int passwd(const std::string& root, const UserName& n) {
  auto existing = quail::lookup_user(root, n.key());
  if (!existing) return fail(existing.error());
  if (!*existing) return no_such_user(n);
  auto pw = quail::read_new_password();
  if (!pw) return fail(pw.error());
  auto hash = quail::hash_password(*pw);
  if (!hash) return fail(hash.error());
  return rewrite(root, [&](quail::UsersMap& users) {
    auto it = users.find(n.key());
    if (it == users.end()) return no_such_user(n);
    auto entry = quail::decode_user_value(it->second);
    entry.hash = *hash;  // a disabled user stays disabled
    it->second = quail::encode_user_value(entry);
    return admin::ok;
  });
}

int del(const std::string& root, const UserName& n) {
  return rewrite(root, [&](quail::UsersMap& users) { return users.erase(n.key()) ? admin::ok : no_such_user(n); });
}

int set_disabled(const std::string& root, const UserName& n, bool disabled) {
  return rewrite(root, [&](quail::UsersMap& users) {
    auto it = users.find(n.key());
    if (it == users.end()) return no_such_user(n);
    auto entry = quail::decode_user_value(it->second);
    entry.disabled = disabled;
    it->second = quail::encode_user_value(entry);
    return admin::ok;
  });
}

int list(const std::string& root, bool verbose) {
  auto users = quail::load_users(root);
  if (!users) return fail(users.error());
  std::string out;
  for (const auto& [key, value] : *users) {
    out += key;
    if (verbose) out += quail::decode_user_value(value).disabled ? " disabled" : " enabled";
    out += "\n";
  }
  if (!quail::write_all(1, out)) return admin::temporary;
  return admin::ok;
}

// One line saying what a successful command did.
int done(int code, const std::string& what) {
  if (code != admin::ok) return code;
  return quail::write_all(1, what + "\n") ? admin::ok : admin::temporary;
}

int run(int argc, char** argv) {
  static const option longopts[] = {{"root", required_argument, nullptr, 'r'}, {"help", no_argument, nullptr, 'h'},
                                    {"verbose", no_argument, nullptr, 'v'}, {nullptr, 0, nullptr, 0}};
  const char* root_flag = nullptr;
  bool verbose = false;
  opterr = 0;
  int c;
  // Options anywhere (--root before or after the verb), as everywhere in quail.
  while ((c = getopt_long(argc, argv, "hv", longopts, nullptr)) != -1) {
    if (c == 'r') root_flag = optarg;
    else if (c == 'h') return admin::help(usage_text);
    else if (c == 'v') verbose = true;
    else return usage();
  }
  std::vector<std::string> args(argv + optind, argv + argc);
  if (args.empty()) return usage();
  auto root = admin::open_root(root_flag);
  if (!root) return fail(root.error());
  const std::string& verb = args[0];
  if (verb == "list") return args.size() == 1 ? list(*root, verbose) : usage();
  if (args.size() != 2 || verbose) return usage();
  auto name = quail::parse_user_name(args[1]);
  if (!name) return fail(name.error());
  const std::string who = "User " + name->key();
  const std::string home = *root + "/mail/" + name->domain + "/" + name->local;
  if (verb == "add") return done(add(*root, *name), who + " added; mail goes to " + home + "/Maildir/.");
  if (verb == "del") return done(del(*root, *name), who + " deleted; the mailbox in " + home + " is left as it is.");
  if (verb == "passwd") return done(passwd(*root, *name), "Password of " + name->key() + " changed.");
  if (verb == "disable") return done(set_disabled(*root, *name, true), who + " disabled: its mail and its logins are refused.");
  if (verb == "enable") return done(set_disabled(*root, *name, false), who + " enabled.");
  return usage();
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("quail-user", {admin::temporary, admin::temporary}, [&] { return run(argc, argv); });
}
