// quail init: create a new root, a single-user instance by default (everything runs
// as the invoking user) or with --system a privilege-separated one. Refuses a
// non-empty root. See man/quail.8 ("init"). Every file is written durably.
#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <getopt.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "address.hpp"
#include "cdb.hpp"
#include "durable.hpp"
#include "init.hpp"
#include "program.hpp"
#include "queue_file.hpp"
#include "service_cli.hpp"
#include "srs_key.hpp"

namespace {

using quail::Status;
namespace admin = quail::admin;

constexpr std::string_view usage_text =
    "usage: quail init --hostname HOST --domain DOMAIN [--domain DOMAIN ...] [--system]\n";

int usage() {
  admin::say("init", "usage error");
  (void)quail::write_all(2, usage_text);
  return admin::usage;
}

Status make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return quail::sys_error(quail::ErrorKind::temporary, "mkdir " + path);
  return {};
}

// Makes dirs under root, each then fsync'ed with its parent so the layout survives a crash.
Status make_dirs(const std::string& root, const std::vector<std::pair<std::string, mode_t>>& dirs) {
  for (const auto& [rel, mode] : dirs) {
    std::string path = root + "/" + rel;
    if (auto s = make_dir(path, mode); !s) return s;
    if (auto s = quail::fsync_dir(quail::dir_of(path)); !s) return s;
  }
  return {};
}

// The root must be missing (it is created) or an empty directory.
Status claim_root(const std::string& root) {
  if (::mkdir(root.c_str(), 0755) == 0) return quail::fsync_dir(quail::dir_of(root));
  if (errno != EEXIST) return quail::sys_error(quail::ErrorKind::temporary, "create root " + root);
  DIR* d = ::opendir(root.c_str());
  if (!d) return quail::sys_error(quail::ErrorKind::permanent, "open root " + root);
  bool empty = true;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") empty = false;
  }
  ::closedir(d);
  if (!empty) return quail::Error{quail::ErrorKind::permanent, root + " is not empty; refusing to initialise it"};
  return {};
}

// R/bin: a link to every program beside this one, so the instance runs this build.
Status link_programs(const std::string& root) {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return quail::sys_error(quail::ErrorKind::temporary, "read /proc/self/exe");
  std::string self(buf, static_cast<size_t>(n));
  std::string dir = self.substr(0, self.rfind('/'));
  DIR* d = ::opendir(dir.c_str());
  if (!d) return quail::sys_error(quail::ErrorKind::temporary, "open " + dir);
  Status result;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    std::string target = dir + "/" + name;
    struct stat st;
    if (name[0] == '.' || ::stat(target.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111)) continue;
    std::string link = root + "/bin/" + name;
    if (::symlink(target.c_str(), link.c_str()) != 0) {
      result = quail::sys_error(quail::ErrorKind::temporary, "link " + link);
      break;
    }
  }
  ::closedir(d);
  if (!result) return result;
  return quail::fsync_dir(root + "/bin");
}

std::string lines(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += v + "\n";
  return out;
}

Status write_control(const quail::init::Options& o) {
  std::string c = o.root + "/control/";
  // The host's own name is local in every install, as in qmail: postmaster@<me>
  // receives double bounces. System users receive mail there; virtual users at the domains.
  std::vector<std::string> locals = {o.hostname};
  std::vector<std::string> rcpthosts = o.domains;
  if (std::find(rcpthosts.begin(), rcpthosts.end(), o.hostname) == rcpthosts.end()) {
    rcpthosts.insert(rcpthosts.begin(), o.hostname);
  }
  const std::vector<std::pair<std::string, std::string>> files = {
      {"me", o.hostname + "\n"},
      {"virtualdomains", lines(o.domains)},
      {"rcpthosts", lines(rcpthosts)},
      {"locals", lines(locals)},
      // tcprules syntax: relay rights and logins without TLS for the two loopback
      // addresses only, everyone else may connect (DESIGN.md, "Security and policy").
      {"rules.smtp", "127.0.0.1:allow,RELAYCLIENT=\"\",PLAINTEXTLOGIN=\"\"\n::1:allow,RELAYCLIENT=\"\",PLAINTEXTLOGIN=\"\"\n:allow\n"},
      // Submission relays only for an authenticated user: no RELAYCLIENT here.
      {"rules.submission", "127.0.0.1:allow,PLAINTEXTLOGIN=\"\"\n::1:allow,PLAINTEXTLOGIN=\"\"\n:allow\n"},
      {"rules.smtps", ":allow\n"},
      // POP3 passwords in plaintext (before STLS) from loopback only (man/pop3d.8).
      {"rules.pop3", "127.0.0.1:allow,PLAINTEXTLOGIN=\"\"\n::1:allow,PLAINTEXTLOGIN=\"\"\n:allow\n"},
  };
  for (const auto& [name, text] : files) {
    if (auto s = quail::write_file_durable(c + name, text, 0644); !s) return s;
  }
  if (o.system) {
    if (auto s = quail::write_file_durable(c + "system", "1\n", 0644); !s) return s;
  }
  return {};
}

Status init(const quail::init::Options& o) {
  if (o.system) {
    if (auto s = quail::init::create_system_users(o.root); !s) return s;
  }
  if (auto s = claim_root(o.root); !s) return s;
  if (auto s = make_dirs(o.root, {{"bin", 0755}, {"control", 0755}, {"users", 0750}, {"mail", 0750},
                                  {"log", 0750}, {"run", 0755}, {"state", 0700}, {"mail/postmaster", 0700},
                                  {"mail/postmaster/Maildir", 0700}, {"mail/postmaster/Maildir/tmp", 0700},
                                  {"mail/postmaster/Maildir/new", 0700}, {"mail/postmaster/Maildir/cur", 0700}});
      !s) {
    return s;
  }
  if (auto s = link_programs(o.root); !s) return s;
  if (auto s = write_control(o); !s) return s;
  if (auto s = quail::init::write_self_signed(o.root, o.hostname); !s) return s;
  if (auto s = quail::create_srs_key(o.root); !s) return s;
  if (auto s = quail::build_cdb(o.root + "/users/users.cdb", {}, 0640); !s) return s;
  if (auto s = quail::build_cdb(o.root + "/users/aliases.cdb", {}, 0644); !s) return s;
  quail::QueueDirs q(o.root);
  if (auto s = quail::create_queue_dirs(q); !s) return s;
  // Anyone who may inject may wake queue-send (queue-layout: 0622); mkfifo obeyed the umask.
  if (::chmod(q.trigger().c_str(), 0622) != 0) return quail::sys_error(quail::ErrorKind::temporary, "chmod " + q.trigger());
  // create_queue_dirs leaves fsyncs to its caller: make the queue's entries durable.
  for (const auto& dir : {q.queue + "/lock", q.queue, o.root}) {
    if (auto s = quail::fsync_dir(dir); !s) return s;
  }
  if (o.system) return quail::init::chown_system_layout(o.root);
  return {};
}

int run(int argc, char** argv) {
  static const option longopts[] = {{"root", required_argument, nullptr, 'r'},
                                    {"hostname", required_argument, nullptr, 'H'},
                                    {"domain", required_argument, nullptr, 'd'},
                                    {"system", no_argument, nullptr, 's'},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  const char* root_flag = nullptr;
  quail::init::Options o;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, nullptr)) != -1) {
    switch (c) {
      case 'r': root_flag = optarg; break;
      case 'H': o.hostname = quail::lowercase(optarg); break;
      case 'd': {
        std::string d = quail::lowercase(optarg);
        if (std::find(o.domains.begin(), o.domains.end(), d) == o.domains.end()) o.domains.push_back(d);
        break;
      }
      case 's': o.system = true; break;
      case 'h': return admin::help(usage_text);
      default: return usage();
    }
  }
  if (optind != argc) return usage();
  if (o.hostname.empty()) {
    admin::say("init", "--hostname HOST is missing: the host's own name, as other servers see it (mx.example.org)");
    return usage();
  }
  if (o.domains.empty() && !o.system) {
    admin::say("init", "--domain DOMAIN is missing: a mail domain this host receives for (example.org)");
    return usage();
  }
  for (const auto& name : o.domains) {
    if (name.front() == '[' || !quail::valid_domain(name, false)) {
      admin::say("init", "not a domain name: " + name);
      return admin::usage;
    }
  }
  if (o.hostname.front() == '[' || !quail::valid_domain(o.hostname, false)) {
    admin::say("init", "not a host name: " + o.hostname);
    return admin::usage;
  }
  o.root = admin::absolute_root(root_flag);
  if (auto s = init(o); !s) {
    admin::say("init", s.error().reason);
    return admin::exit_code(s.error().kind);
  }
  // What was made, and the two steps to a first message.
  std::string r = root_flag ? " --root " + o.root : "";
  std::string domain = o.domains.empty() ? o.hostname : o.domains.front();
  std::string done = "Created a quail root in " + o.root + " for " + o.hostname + ". Next: quail" + r +
                     " user add USER@" + domain + ", then quail" + r + " up --smtp 127.0.0.1:25.\n";
  return quail::write_all(1, done) ? admin::ok : admin::temporary;
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("quail-init", {admin::temporary, admin::temporary}, [&] { return run(argc, argv); });
}
