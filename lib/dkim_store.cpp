// The signing keys under control/dkim/: see dkim_store.hpp.
#include "dkim_store.hpp"

#include <algorithm>
#include <dirent.h>
#include <sys/stat.h>

#include "durable.hpp"
#include "fd.hpp"

namespace quail::dkim {
namespace {

constexpr size_t max_key_file = 64 << 10;

std::string domain_dir(const std::string& control_dir, const std::string& domain) { return key_dir(control_dir) + "/" + domain; }

Result<StoredKey> load(const std::string& control_dir, const std::string& domain, const std::string& selector) {
  std::string path = domain_dir(control_dir, domain) + "/" + selector + ".key";
  auto text = read_file(path, max_key_file);
  if (!text) return Error{ErrorKind::config, text.error().reason};
  auto k = PrivateKey::parse(*text);
  if (!k) return Error{ErrorKind::config, path + ": " + k.error().reason};
  return StoredKey{domain, selector, std::move(*k)};
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (const dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

quail::Status make_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return sys_error(ErrorKind::temporary, "create " + dir);
  return {};
}

}  // namespace

std::string key_dir(const std::string& control_dir) { return control_dir + "/dkim"; }

Result<std::vector<StoredKey>> signing_keys(const std::string& control_dir, const std::string& domain) {
  std::vector<StoredKey> keys;
  if (!dns_name(domain, 2)) return keys;  // never a path outside control/dkim
  std::string file = domain_dir(control_dir, domain) + "/selectors";
  struct stat st;
  if (::stat(file.c_str(), &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) return keys;
  auto text = read_file(file, max_key_file);
  if (!text) return Error{ErrorKind::config, text.error().reason};
  int line = 0;
  size_t pos = 0;
  while (pos < text->size()) {
    size_t nl = text->find('\n', pos);
    std::string sel = strip_fws(text->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    pos = nl == std::string::npos ? text->size() : nl + 1;
    ++line;
    if (sel.empty() || sel.front() == '#') continue;
    if (!dns_name(sel, 1)) return Error{ErrorKind::config, file + ":" + std::to_string(line) + ": not a selector"};
    auto k = load(control_dir, domain, ascii_lower(sel));
    if (!k) return k.error();
    keys.push_back(std::move(*k));
  }
  return keys;
}

Result<std::vector<StoredKey>> all_keys(const std::string& control_dir, const std::string& domain) {
  std::vector<StoredKey> keys;
  for (const auto& n : entries(domain_dir(control_dir, domain))) {
    if (n.size() <= 4 || !n.ends_with(".key")) continue;
    auto k = load(control_dir, domain, n.substr(0, n.size() - 4));
    if (!k) return k.error();
    keys.push_back(std::move(*k));
  }
  return keys;
}

std::vector<std::string> key_domains(const std::string& control_dir) {
  std::vector<std::string> out;
  for (const auto& n : entries(key_dir(control_dir))) {
    if (dns_name(n, 2)) out.push_back(n);
  }
  return out;
}

quail::Status write_key(const std::string& control_dir, const std::string& domain, const std::string& selector, const PrivateKey& k) {
  if (auto s = make_dir(key_dir(control_dir)); !s) return s;
  std::string dir = domain_dir(control_dir, domain);
  if (auto s = make_dir(dir); !s) return s;
  std::string path = dir + "/" + selector + ".key";
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) return Error{ErrorKind::permanent, path + " exists: choose another selector"};
  return write_file_durable(path, k.file_text(), 0600);
}

quail::Status write_selectors(const std::string& control_dir, const std::string& domain, const std::vector<std::string>& selectors) {
  std::string text;
  for (const auto& s : selectors) text += s + "\n";
  return write_file_durable(domain_dir(control_dir, domain) + "/selectors", text, 0600);
}

}  // namespace quail::dkim
