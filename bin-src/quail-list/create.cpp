// A list's birth and end on disk: see create.hpp and queue-layout/lists.md.
#include "create.hpp"

#include <cerrno>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.hpp"
#include "fd.hpp"
#include "list_cookie.hpp"

namespace quail::lists {
namespace {

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

Status make_dir(const std::string& path, bool may_exist) {
  if (::mkdir(path.c_str(), 0700) == 0 || (may_exist && errno == EEXIST)) return fsync_dir(dir_of(path));
  if (errno == EEXIST) return Error{ErrorKind::permanent, path + " exists: a list is there (quail list destroy)"};
  return sys_error(ErrorKind::temporary, "mkdir " + path);
}

// Writes a file that must not replace anything: a temporary file is written and
// fsync'ed, then linked to its name (link fails when the name exists).
Status write_new_file(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  auto f = TempFile::create(tmp, 0644);
  if (!f) return f.error();
  if (auto s = f->write(text); !s) return s;
  if (auto s = fsync_fd(f->fd(), tmp); !s) return s;
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    if (errno == EEXIST) return Error{ErrorKind::permanent, path + " exists; refusing to replace it"};
    return sys_error(ErrorKind::temporary, "link " + path);
  }
  return fsync_dir(dir_of(path));  // the TempFile unlinks tmp when it goes
}

// A .qmail program line: the program and LISTDIR, single-quoted for /bin/sh.
std::string program_line(const std::string& root, const char* program, const std::string& dir) {
  return "|exec '" + root + "/bin/" + program + "' '" + dir + "'\n";
}

}  // namespace

std::vector<std::string> dotqmail_paths(const ListPlace& p) {
  std::string base = p.home + "/.qmail-" + p.ext;
  return {base + "-owner", base + "-default", base};
}

Status create_list(const ListPlace& p, const ListConfig& cfg) {
  for (const std::string& s : {cfg.root, p.dir}) {
    if (s.find('\'') != std::string::npos || s.find('\n') != std::string::npos) {
      return Error{ErrorKind::permanent, s + ": a quote or line end in the path cannot go into a .qmail line"};
    }
  }
  for (const auto& q : dotqmail_paths(p)) {
    if (exists(q)) return Error{ErrorKind::permanent, q + " exists; refusing to replace it"};
  }
  if (auto s = make_dir(p.home + "/lists", true); !s) return s;
  if (auto s = make_dir(p.dir, false); !s) return s;
  auto secret = ListSecret::random();
  if (auto s = write_file_durable(p.dir + "/secret", secret.bytes(), 0600); !s) return s;
  if (auto s = make_dir(p.dir + "/subscribers", false); !s) return s;
  // config last inside LISTDIR: the list programs refuse a directory without it.
  if (auto s = write_file_durable(p.dir + "/config", serialize_list_config(cfg), 0600); !s) return s;
  auto paths = dotqmail_paths(p);
  const std::string lines[] = {"&" + cfg.owner + "\n", program_line(cfg.root, "list-manage", p.dir),
                               program_line(cfg.root, "list-post", p.dir)};
  for (size_t i = 0; i < paths.size(); ++i) {
    if (auto s = write_new_file(paths[i], lines[i]); !s) return s;
  }
  return {};
}

Status destroy_list(const ListPlace& p) {
  if (!exists(p.dir + "/config")) return Error{ErrorKind::permanent, "no list at " + p.dir};
  // The posting address goes first, so no post arrives at a half-removed list.
  auto paths = dotqmail_paths(p);
  for (auto it = paths.rbegin(); it != paths.rend(); ++it) {
    auto text = read_file(*it, 4096);
    if (!text) continue;
    bool ours = text->find("'" + p.dir + "'") != std::string::npos || it->ends_with("-owner");
    if (ours && ::unlink(it->c_str()) != 0) return sys_error(ErrorKind::temporary, "unlink " + *it);
  }
  if (auto s = fsync_dir(p.home); !s) return s;
  std::error_code ec;
  std::filesystem::remove_all(p.dir, ec);
  if (ec) return Error{ErrorKind::temporary, "unable to remove " + p.dir + ": " + ec.message()};
  return fsync_dir(p.home + "/lists");
}

}  // namespace quail::lists
