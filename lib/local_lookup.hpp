// Which local mailbox an address names: virtual users (users/users.cdb), system
// users (/etc/passwd through lib/passwd_file, never NSS; --system instances; their
// homes read directly, or through users/homes.cdb by who may not enter them),
// aliases (users/aliases.cdb), extensions and .qmail-ext / -default files. One
// lookup shared by local-deliver (delivery) and smtpd (RCPT-time refusal), so the
// outside never gets a backscatter bounce.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "address.hpp"
#include "control.hpp"
#include "passwd_file.hpp"
#include "result.hpp"

namespace quail {

class ListSecret;

// How a system user's .qmail-<ext> files are found: by reading the home (root,
// or the user itself), or from the home table (lib/home_table.hpp) that root
// compiles, for a program that may not enter homes (smtpd).
enum class HomeAccess {
  automatic,  // read the home as root or as its owner; the table otherwise
  read,
  table,
};

struct LocalConfig {
  std::string root;
  std::string me;                           // control/me
  std::vector<std::string> locals;          // control/locals (lowercased)
  std::vector<std::string> virtualdomains;  // control/virtualdomains (lowercased)
  bool system = false;                      // control/system is 1: system users are looked up
  int64_t minuid = 1000;                    // control/minuid: the smallest uid that receives mail
  HomeAccess homes = HomeAccess::automatic; // tests choose; programs keep automatic
  // Where system logins are read: always /etc/passwd in programs (load_local_config
  // never takes it from the environment or a control file); tests set their own.
  std::string passwd = system_passwd_path;
  // control/srs/key (lib/srs_key), loaded only by the programs that use it
  // (smtpd, local-deliver; local-spawn as root, before it becomes the recipient):
  // load_local_config leaves it null, which means SRS is off.
  std::shared_ptr<const ListSecret> srs_key;
};
// A local part as a plain string: a quoted local part ("a b") loses its quotes
// and backslash escapes; a dot-string is returned as it is.
std::string plain_local_part(const std::string& local);

// Reads the control files lookups depend on; config error names the file and line.
Result<LocalConfig> load_local_config(const std::string& root);
// The same through the caller's control (smtpd's Control::read_once).
Result<LocalConfig> load_local_config(const std::string& root, const Control& control);
// True when mail for domain is delivered on this host.
bool is_local_domain(const LocalConfig& cfg, const std::string& domain);

enum class TargetKind { virtual_user, system_user, alias, postmaster };

struct LocalTarget {
  TargetKind kind = TargetKind::virtual_user;
  std::string user;          // virtual: "alice@example.test"; system: login; alias: its key
  std::string local;         // the whole local part as addressed, lowercased ("alice-foo")
  std::string ext;           // the extension after user- ("foo"), "" for none
  std::string domain;
  std::string home;          // directory holding .qmail files and Maildir/
  uid_t uid = 0;             // system users; the running user's ids otherwise
  gid_t gid = 0;
  std::string dotqmail;      // path of the .qmail file that applies; "" = .forward or default delivery
                             // (through the home table, no extension: "" and forward "", not looked at)
  std::string default_part;  // what "default" matched in a .qmail-...-default file ($DEFAULT)
  std::vector<std::string> alias_targets;  // kind == alias: the alias's right-hand side items
  std::string forward;       // path of the .forward that applies (no extension, no .qmail); "" for none
};

// The target for a local address; nullopt when no such user, extension or alias
// exists (550 5.1.1); an error (temporary) when a table cannot be read, or when
// the home table is not yet current for a home whose extensions are asked for.
Result<std::optional<LocalTarget>> lookup_local(const LocalConfig& cfg, const Address& a);
// The same without the aliases table: for an alias's `\user` item, which names
// the user's own mailbox, never an alias again.
Result<std::optional<LocalTarget>> lookup_local_user(const LocalConfig& cfg, const Address& a);

// For a child forked from a process that made lookups, after it closed the
// descriptors it inherited: the tables that process had open are forgotten
// (never closed by number: a number may be another file's by now), and the
// child's lookups open their own.
void forget_inherited_tables();

}  // namespace quail
