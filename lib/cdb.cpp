// tinycdb wrappers: see cdb.hpp.
#include "cdb.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.hpp"

namespace quail {

Result<Cdb> Cdb::open(const std::string& path) {
  auto fd = open_fd(path, O_RDONLY);
  if (!fd) return fd.error();
  Cdb c(std::move(*fd));
  if (cdb_init(&c.db_, c.fd_.get()) != 0) return Error{ErrorKind::format, path + ": not a cdb file"};
  c.init_ = true;
  return c;
}

Cdb::Cdb(Cdb&& o) noexcept : fd_(std::move(o.fd_)), db_(o.db_), init_(o.init_) { o.init_ = false; }

Cdb::~Cdb() {
  if (init_) cdb_free(&db_);
}

Result<std::optional<std::string>> Cdb::find(std::string_view key) {
  int r = cdb_find(&db_, key.data(), static_cast<unsigned>(key.size()));
  if (r < 0) return Error{ErrorKind::format, "damaged cdb file"};
  if (r == 0) return std::optional<std::string>();
  std::string v(cdb_datalen(&db_), '\0');
  if (cdb_read(&db_, v.data(), cdb_datalen(&db_), cdb_datapos(&db_)) != 0) {
    return Error{ErrorKind::format, "damaged cdb file"};
  }
  return std::optional<std::string>(std::move(v));
}

Result<std::vector<std::pair<std::string, std::string>>> Cdb::all() {
  std::vector<std::pair<std::string, std::string>> out;
  unsigned pos;
  cdb_seqinit(&pos, &db_);
  int r;
  while ((r = cdb_seqnext(&pos, &db_)) > 0) {
    std::string k(cdb_keylen(&db_), '\0'), v(cdb_datalen(&db_), '\0');
    if (cdb_read(&db_, k.data(), cdb_keylen(&db_), cdb_keypos(&db_)) != 0 ||
        cdb_read(&db_, v.data(), cdb_datalen(&db_), cdb_datapos(&db_)) != 0) {
      return Error{ErrorKind::format, "damaged cdb file"};
    }
    out.emplace_back(std::move(k), std::move(v));
  }
  if (r < 0) return Error{ErrorKind::format, "damaged cdb file"};
  return out;
}

Status build_cdb(const std::string& path, const std::vector<std::pair<std::string, std::string>>& records,
                 mode_t mode) {
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // a leftover from a crashed build
  auto file = TempFile::create(tmp, mode);
  if (!file) return file.error();
  struct cdb_make mk;
  if (cdb_make_start(&mk, file->fd()) != 0) return sys_error(ErrorKind::io_write, "start " + tmp);
  for (const auto& [k, v] : records) {
    if (cdb_make_add(&mk, k.data(), static_cast<unsigned>(k.size()), v.data(), static_cast<unsigned>(v.size())) != 0) {
      cdb_make_finish(&mk);
      return sys_error(ErrorKind::io_write, "write " + tmp);
    }
  }
  if (cdb_make_finish(&mk) != 0) return sys_error(ErrorKind::io_write, "write " + tmp);
  // A rebuilt table keeps its owner and group (a system install gives users.cdb to
  // group quail-mail); only root can do that, and only root needs to.
  struct stat old;
  if (::geteuid() == 0 && ::stat(path.c_str(), &old) == 0) (void)!::fchown(file->fd(), old.st_uid, old.st_gid);
  if (auto s = file->commit_to(path); !s) return s;
  return fsync_dir(dir_of(path));
}

}  // namespace quail
