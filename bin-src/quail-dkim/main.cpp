// quail-dkim: DKIM keys and checks for the administrator: keygen writes an Ed25519
// and an RSA key under control/dkim/ and prints their DNS records, show prints
// them again, verify checks the signatures of a message on stdin, sign signs one
// as remote-deliver would. See man/quail-dkim.8.
#include <getopt.h>
#include <string>

#include "decimal.hpp"
#include "dkim_tool.hpp"
#include "program.hpp"
#include "service_cli.hpp"

namespace {

namespace admin = quail::admin;

constexpr std::string_view usage_text =
    "usage: quail dkim [--root DIR] keygen DOMAIN [--selector S] [--rsa-bits N]\n"
    "       quail dkim [--root DIR] show [DOMAIN]\n"
    "       quail dkim [--root DIR] verify < message\n"
    "       quail dkim [--root DIR] sign DOMAIN < message\n";

int usage() {
  admin::say("dkim", std::string(usage_text.substr(0, usage_text.size() - 1)));
  return admin::usage;
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("quail-dkim", {admin::temporary, admin::temporary}, [&] {
    static const option longopts[] = {{"root", required_argument, nullptr, 'r'},
                                      {"selector", required_argument, nullptr, 's'},
                                      {"rsa-bits", required_argument, nullptr, 'b'},
                                      {"help", no_argument, nullptr, 'h'},
                                      {nullptr, 0, nullptr, 0}};
    const char* root_flag = nullptr;
    quail::dkimtool::KeygenOptions o;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, nullptr)) != -1) {
      if (c == 'r') {
        root_flag = optarg;
      } else if (c == 's') {
        o.selector = optarg;
      } else if (c == 'b') {
        auto bits = quail::parse_decimal(optarg, 8192);
        if (!bits || *bits < 2048) return admin::say("dkim", "--rsa-bits: a number from 2048 to 8192"), admin::usage;
        o.rsa_bits = static_cast<int>(*bits);
      } else if (c == 'h') {
        return admin::help(usage_text);
      } else {
        return usage();
      }
    }
    if (optind >= argc) return usage();
    std::string cmd = argv[optind++];
    auto root = admin::open_root(root_flag);
    if (!root) return admin::say("dkim", root.error().reason), admin::exit_code(root.error().kind);
    if (cmd == "keygen" && argc - optind == 1) {
      o.domain = argv[optind];
      return quail::dkimtool::keygen(*root, o);
    }
    if (cmd == "show" && argc - optind <= 1) return quail::dkimtool::show(*root, optind < argc ? argv[optind] : "");
    if (cmd == "verify" && argc == optind) return quail::dkimtool::verify_stdin(*root);
    if (cmd == "sign" && argc - optind == 1) return quail::dkimtool::sign_stdin(*root, argv[optind]);
    return usage();
  });
}
