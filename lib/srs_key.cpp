// The SRS key and SRS0 recipients: see srs_key.hpp.
#include "srs_key.hpp"

#include <cerrno>
#include <sys/stat.h>

#include "control.hpp"
#include "durable.hpp"
#include "fd.hpp"

namespace quail {

std::string srs_key_path(const std::string& root) { return Control(root).dir() + "/srs/key"; }

Result<std::shared_ptr<const ListSecret>> load_srs_key(const std::string& root) {
  std::string path = srs_key_path(root);
  // One byte more than a key, so a longer file is seen as wrong, not cut.
  auto text = read_file(path, ListSecret::size + 1);
  if (!text) {
    if (text.error().kind == ErrorKind::not_found) return std::shared_ptr<const ListSecret>();
    return Error{ErrorKind::temporary, text.error().reason};
  }
  auto key = ListSecret::from_bytes(*text);
  if (!key) return Error{ErrorKind::config, path + ": not 32 bytes long (a key is 32 random bytes)"};
  return std::shared_ptr<const ListSecret>(std::make_shared<ListSecret>(std::move(*key)));
}

Status create_srs_key(const std::string& root) {
  std::string dir = Control(root).dir() + "/srs";
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return sys_error(ErrorKind::temporary, "create " + dir);
  if (::chmod(dir.c_str(), 0755) != 0) return sys_error(ErrorKind::temporary, "chmod " + dir);
  std::string path = srs_key_path(root);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return {};
  ListSecret key = ListSecret::random();
  if (auto s = write_file_durable(path, key.bytes(), 0600); !s) return s;
  return fsync_dir(Control(root).dir());
}

SrsCheck srs_recipient(const ListSecret* key, const LocalConfig& cfg, const Address& a, int64_t now,
                       std::string* original) {
  if (!key || !is_local_domain(cfg, a.domain())) return SrsCheck::not_srs;
  return srs_reverse(*key, a.local(), now, original);
}

}  // namespace quail
