// quail list: create, destroy and look after a mailing list on a user's
// extension address (the administrator for anyone, a system user for their own
// ~ without root). See man/quail-list.8 and queue-layout/lists.md.
#include <algorithm>
#include <getopt.h>
#include <string>
#include <vector>

#include "address.hpp"
#include "create.hpp"
#include "fd.hpp"
#include "list_digest.hpp"
#include "list_mail.hpp"
#include "program.hpp"
#include "service_cli.hpp"
#include "where.hpp"

namespace {

namespace admin = quail::admin;
namespace list = quail::list;
using quail::lists::ListPlace;

constexpr std::string_view usage_text =
    "usage: quail list create USER-NAME@DOMAIN [--owner ADDRESS] [--moderated] [--members-only] [--archive]\n"
    "                   [--digest] [--one-click] [--prefix TEXT] [--from-rewrite dmarc|always|never]\n"
    "       quail list destroy|show|digest USER-NAME@DOMAIN\n"
    "       quail list subscribers [-v] [--digest] USER-NAME@DOMAIN\n"
    "       quail list add|remove [--digest] USER-NAME@DOMAIN ADDRESS...\n";

int usage() {
  admin::say("list", "usage error");
  (void)quail::write_all(2, usage_text);
  return admin::usage;
}

int fail(const quail::Error& e) {
  admin::say("list", e.reason);
  return admin::exit_code(e.kind);
}

int out(const std::string& text) { return quail::write_all(1, text) ? admin::ok : admin::temporary; }

struct Options {
  std::string owner, prefix, from_rewrite = "dmarc";
  bool moderated = false, members_only = false, archive = false, digest = false, verbose = false, one_click = false;
};

int create(const std::string& root, const ListPlace& p, const Options& o) {
  quail::ListConfig cfg;
  cfg.address = p.address;
  cfg.owner = o.owner.empty() ? p.user + "@" + p.domain : o.owner;
  cfg.root = root;
  cfg.moderated = o.moderated;
  cfg.members_only = o.members_only;
  cfg.archive = o.archive;
  cfg.digest = o.digest;
  cfg.one_click = o.one_click;
  cfg.prefix = o.prefix;
  cfg.from_rewrite = o.from_rewrite == "always" ? quail::FromRewrite::always
                     : o.from_rewrite == "never" ? quail::FromRewrite::never
                                                 : quail::FromRewrite::dmarc;
  // The text create writes must read back: the same checks every list program makes.
  if (auto back = quail::parse_list_config(quail::serialize_list_config(cfg)); !back) {
    return fail(quail::Error{quail::ErrorKind::permanent, "bad option: " + back.error().reason});
  }
  if (auto s = quail::lists::create_list(p, cfg); !s) return fail(s.error());
  return out("created " + p.address + " in " + p.dir + "\n");
}

int show(const list::List& l) {
  size_t active = 0, bouncing = 0;
  if (auto s = l.store.for_each([&](const quail::Subscriber& s) {
        ++active;
        if (s.bounces) ++bouncing;
      });
      !s) {
    return fail(s.error());
  }
  auto last = l.store.last_post();
  if (!last) return fail(last.error());
  size_t digesters = 0;
  if (l.cfg.digest) {
    if (auto s = l.digest.for_each([&](const quail::Subscriber&) { ++digesters; }); !s) return fail(s.error());
  }
  const auto& c = l.cfg;
  return out("address " + c.address + "\nowner " + c.owner + "\ndirectory " + l.dir + "\nmoderated " +
             (c.moderated ? "yes" : "no") + "\nmembers-only " + (c.members_only ? "yes" : "no") + "\narchive " + (c.archive ? "yes" : "no") + "\ndigest " + (c.digest ? "yes" : "no") + "\none-click " + (c.one_click ? "yes" : "no") + "\nfrom-rewrite " + std::string(quail::from_rewrite_name(c.from_rewrite)) + "\nprefix " +
             c.prefix + "\nsubscribers " + std::to_string(active) + "\ndigest-subscribers " + std::to_string(digesters) + "\nbouncing " + std::to_string(bouncing) +
             "\nlast-post " + std::to_string(*last) + "\n");
}

int subscribers(const quail::ListStore& store, bool verbose) {
  std::vector<std::string> lines;
  auto s = store.for_each([&](const quail::Subscriber& s) {
    std::string line = s.address;
    if (verbose) {
      line += " bounces=" + std::to_string(s.bounces) + " first-bounce=" + std::to_string(s.first_bounce) +
              " probed=" + std::to_string(s.probed);
    }
    lines.push_back(line + "\n");
  });
  if (!s) return fail(s.error());
  std::sort(lines.begin(), lines.end());
  std::string text;
  for (const auto& line : lines) text += line;
  return out(text);
}

// add/remove without confirmation: the owner's own word. Exit 1 when any
// address was already in the wanted state.
int change(const list::List& l, const quail::ListStore& store, bool add, const std::vector<std::string>& addresses) {
  int code = admin::ok;
  auto lock = store.lock();
  if (!lock) return fail(lock.error());
  int64_t t = list::now();
  for (const auto& text : addresses) {
    auto a = quail::parse_address(text, false);
    if (!a || a->quoted()) {
      admin::say("list", text + " is not a plain local@domain address");
      code = admin::usage;
      continue;
    }
    bool changed = false;
    auto s = store.update(a->str(), t - l.cfg.cookie_lifetime, [&](std::optional<quail::Subscriber>& rec) {
      if (add == (rec && rec->active)) return false;
      if (add) rec = quail::Subscriber{quail::lowercase(a->str()), true, t, 0, 0, 0, 0};
      else {
        rec->active = false;
        rec->changed = t;
      }
      return changed = true;
    });
    if (!s) return fail(s.error());
    if (!changed) {
      admin::say("list", quail::lowercase(a->str()) + (add ? " is already subscribed" : " is not subscribed"));
      if (code == admin::ok) code = admin::no;
    }
  }
  return code;
}

int run(int argc, char** argv) {
  static const option longopts[] = {{"root", required_argument, nullptr, 'r'},
                                    {"owner", required_argument, nullptr, 'o'},
                                    {"prefix", required_argument, nullptr, 'p'},
                                    {"moderated", no_argument, nullptr, 'm'},
                                    {"members-only", no_argument, nullptr, 'M'},
                                    {"archive", no_argument, nullptr, 'a'},
                                    {"digest", no_argument, nullptr, 'd'},
                                    {"one-click", no_argument, nullptr, 'k'},
                                    {"verbose", no_argument, nullptr, 'v'},
                                    {"from-rewrite", required_argument, nullptr, 'f'},
                                    {nullptr, 0, nullptr, 0}};
  if (admin::asks_help(argc, argv)) return admin::help(usage_text);
  const char* root_flag = nullptr;
  Options o;
  opterr = 0;
  for (int c; (c = getopt_long(argc, argv, "v", longopts, nullptr)) != -1;) {
    switch (c) {
      case 'r': root_flag = optarg; break;
      case 'o': o.owner = optarg; break;
      case 'p': o.prefix = optarg; break;
      case 'm': o.moderated = true; break;
      case 'M': o.members_only = true; break;
      case 'a': o.archive = true; break;
      case 'd': o.digest = true; break;
      case 'k': o.one_click = true; break;
      case 'v': o.verbose = true; break;
      case 'f':
        o.from_rewrite = optarg;
        if (o.from_rewrite != "dmarc" && o.from_rewrite != "always" && o.from_rewrite != "never") return usage();
        break;
      default: return usage();
    }
  }
  std::vector<std::string> args(argv + optind, argv + argc);
  if (args.size() < 2) return usage();
  const std::string& verb = args[0];
  bool many = verb == "add" || verb == "remove";
  if (many ? args.size() < 3 : args.size() != 2) return usage();
  auto root = admin::open_root(root_flag);
  if (!root) return fail(root.error());
  auto place = quail::lists::find_list_place(*root, args[1]);
  if (!place) return fail(place.error());
  if (auto s = quail::lists::become_owner(*place); !s) return fail(s.error());
  if (verb == "create") return create(*root, *place, o);
  if (verb == "destroy") {
    if (auto s = quail::lists::destroy_list(*place); !s) return fail(s.error());
    return out("destroyed " + place->address + "\n");
  }
  auto l = list::open_list(place->dir);
  if (!l) return fail(l.error());
  if (verb == "show") return show(*l);
  if (o.digest && !l->cfg.digest) {
    admin::say("list", l->cfg.address + " has no digest (create it with --digest, or set digest=1 in its config)");
    return admin::usage;
  }
  const quail::ListStore& store = o.digest ? l->digest : l->store;
  if (verb == "subscribers") return subscribers(store, o.verbose);
  if (many) return change(*l, store, verb == "add", std::vector<std::string>(args.begin() + 2, args.end()));
  if (verb == "digest") {
    auto sent = list::send_digest(*l, true);
    if (!sent) return fail(sent.error());
    return out(*sent + "\n");
  }
  return usage();
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("quail-list", {admin::temporary, admin::temporary}, [&] { return run(argc, argv); });
}
