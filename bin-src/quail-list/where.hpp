// Which home and directory a list address names, and becoming its owner: see
// man/quail-list.8 ("WHO MAY RUN IT").
#pragma once
#include <string>
#include <sys/types.h>

#include "result.hpp"

namespace quail::lists {

struct ListPlace {
  std::string address;  // lowercased user-ext@domain
  std::string user;     // the owning user's own address part ("alice")
  std::string ext;      // the list's name ("team")
  std::string domain;
  std::string home;     // the user's home
  std::string dir;      // home/lists/<ext>
  uid_t uid = 0;        // the home's owner
  gid_t gid = 0;
};

// Resolves address (user-ext@domain, a local virtual or system user) to its place.
// permanent error when it is no user's extension or the name is not allowed.
Result<ListPlace> find_list_place(const std::string& root, const std::string& address);

// Runs the rest as the home's owner: root becomes it; anyone else must be it.
Status become_owner(const ListPlace& p);

}  // namespace quail::lists
