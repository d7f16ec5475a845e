// cdb tables through tinycdb: a read-only Cdb owner, and an atomic builder
// (write .tmp, fsync, rename, fsync the directory). A malformed file is an error.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <cdb.h>

#include "fd.hpp"
#include "result.hpp"

namespace quail {

class Cdb {
 public:
  // Opens path; not_found when it does not exist, format when it is not a cdb.
  static Result<Cdb> open(const std::string& path);
  Cdb(Cdb&& o) noexcept;
  Cdb& operator=(Cdb&&) = delete;
  Cdb(const Cdb&) = delete;
  ~Cdb();
  // The first value for key; nullopt when absent; an error when the file is damaged.
  Result<std::optional<std::string>> find(std::string_view key);
  // Every record in order (for listing); an error when the file is damaged.
  Result<std::vector<std::pair<std::string, std::string>>> all();

 private:
  Cdb(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
  struct cdb db_ {};
  bool init_ = false;
};

// Builds path from records atomically and durably; duplicate keys are kept in order.
Status build_cdb(const std::string& path, const std::vector<std::pair<std::string, std::string>>& records,
                 mode_t mode = 0644);

}  // namespace quail
