// libFuzzer harness for lib/maildrop's reading of Maildir file names (anyone who
// can write to a Maildir chooses them): the ",W=" size pop3d trusts and the UIDL.
// A size is returned only when the unique part holds ",W=<those digits>" and ends
// that field; a UIDL is 1 to 70 printable characters, the same before and after
// the ":2," of the move to cur/.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "maildrop.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string name(reinterpret_cast<const char*>(data), size);
  std::string_view unique = std::string_view(name).substr(0, name.find(':'));
  if (auto w = quail::maildir_name_size(name)) {
    std::string field = ",W=" + std::to_string(*w);
    size_t at = unique.find(field);
    bool found = false;
    for (; at != std::string_view::npos; at = unique.find(field, at + 1)) {
      size_t end = at + field.size();
      if (end == unique.size() || unique[end] == ',') found = true;
    }
    if (!found) std::abort();
  }
  std::string uid = quail::maildir_uid(name);
  if (uid.empty() || uid.size() > 70) std::abort();
  for (char c : uid) {
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) std::abort();
  }
  if (name.find(':') == std::string::npos && quail::maildir_uid(name + ":2,S") != uid) std::abort();
  return 0;
}
