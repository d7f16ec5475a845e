// Creating and destroying a list's directory and .qmail files: see
// queue-layout/lists.md ("Creation", "Destruction") for the order and what a crash leaves.
#pragma once
#include <string>
#include <vector>

#include "list_config.hpp"
#include "result.hpp"
#include "where.hpp"

namespace quail::lists {

// The .qmail files of a list, in the order create writes them (the posting
// address last, so it goes live when everything behind it exists).
std::vector<std::string> dotqmail_paths(const ListPlace& p);

// Makes LISTDIR (config, secret, subscribers/) and the .qmail files; refuses
// (permanent) when the directory or any of the files exists.
Status create_list(const ListPlace& p, const ListConfig& cfg);
// Removes the .qmail files that run this list's programs, then LISTDIR.
Status destroy_list(const ListPlace& p);

}  // namespace quail::lists
