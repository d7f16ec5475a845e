// The signing keys under control/dkim/ (man/quail-dkim.8, KEYS):
//   control/dkim/<domain>/<selector>.key   a private key (Ed25519 seed or RSA PEM), mode 0600
//   control/dkim/<domain>/selectors        the selectors signed with, one per line
// Written by quail dkim keygen, read by remote-deliver when it signs. Trusts the
// directory's owner (the signing program's user), and checks every file's syntax.
#pragma once
#include <string>
#include <vector>

#include "dkim_key.hpp"
#include "result.hpp"

namespace quail::dkim {

struct StoredKey {
  std::string domain, selector;
  PrivateKey key;
};

// The control/dkim directory of a control directory.
std::string key_dir(const std::string& control_dir);

// The keys domain signs with (its selectors file, in order). An empty vector when
// the domain has no directory or no selectors file; config error naming the file
// when a selector is malformed or its key file is missing or bad.
Result<std::vector<StoredKey>> signing_keys(const std::string& control_dir, const std::string& domain);

// Every <selector>.key of domain, sorted by selector (for quail dkim show).
Result<std::vector<StoredKey>> all_keys(const std::string& control_dir, const std::string& domain);

// The domains with a directory under control/dkim, sorted.
std::vector<std::string> key_domains(const std::string& control_dir);

// Writes <selector>.key durably with mode 0600 (the directories 0700); refuses to
// overwrite an existing key (permanent error).
quail::Status write_key(const std::string& control_dir, const std::string& domain, const std::string& selector, const PrivateKey& k);
// Replaces the selectors file durably (mode 0600).
quail::Status write_selectors(const std::string& control_dir, const std::string& domain, const std::vector<std::string>& selectors);

}  // namespace quail::dkim
