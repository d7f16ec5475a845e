// quail-dkim's commands: keygen and show (keys.cpp), verify (verify.cpp).
#pragma once
#include <string>

namespace quail::dkimtool {

struct KeygenOptions {
  std::string domain;
  std::string selector;  // the base name; "" means q<YYYYMMDD> of today
  int rsa_bits = 2048;
};

int keygen(const std::string& root, const KeygenOptions& o);
int show(const std::string& root, const std::string& domain);
int verify_stdin(const std::string& root);
int sign_stdin(const std::string& root, const std::string& domain);

}  // namespace quail::dkimtool
