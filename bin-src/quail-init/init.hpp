// quail-init's pieces: the layout of a new root and the --system extras.
// See man/quail.8 ("init") and queue-layout/README.md (directories, owners, modes).
#pragma once
#include <string>
#include <vector>

#include "result.hpp"

namespace quail::init {

struct Options {
  std::string root;
  std::string hostname;
  std::vector<std::string> domains;
  bool system = false;
};

// Creates the system users and group of a privilege-separated install when missing
// (useradd/groupadd --system); permanent error when not run as root.
Status create_system_users(const std::string& root);
// Writes control/tls/key.pem (mode 0600) and a self-signed cert.pem for hostname.
Status write_self_signed(const std::string& root, const std::string& hostname);
// Gives the root's directories their owners and modes for a system install.
Status chown_system_layout(const std::string& root);

}  // namespace quail::init
