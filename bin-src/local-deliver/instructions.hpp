// Carrying out delivery instructions for one recipient: Maildir, mbox, program
// and forward, with qmail-local's trace lines and qmail-command(8) environment.
// Forwards are collected and injected once, after the other instructions.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "address.hpp"
#include "fd.hpp"
#include "local_lookup.hpp"
#include "maildir.hpp"
#include "outcome.hpp"

namespace quail::ld {

// The outcome of each alias `\user` item that names a system user, by login,
// delivered beforehand as that user (local-spawn, system install): quail-mail,
// who runs the rest of the alias, may not write in the login's home.
using SelfOutcomes = std::map<std::string, Step>;

struct Context {
  std::string dlv;        // the delivery id, for the log
  std::string root;
  std::string sender;     // the envelope sender, "" for bounces
  Address rcpt;           // the recipient as addressed
  LocalConfig cfg;
  LocalTarget target;
  MessageSource msg;
  const SelfOutcomes* selves = nullptr;  // see SelfOutcomes; null: deliver \user here
  std::string recipient() const { return rcpt.str(); }
};

class Runner {
 public:
  explicit Runner(const Context& ctx);
  // Delivers to a Maildir or an mbox (a relative path is relative to the home).
  Step maildir(const std::string& path);
  Step mbox(const std::string& path);
  // Runs |command with the message on stdin.
  Step program(const std::string& command);
  // Remembers a forwarding address (a bare local part gets the recipient's domain).
  void forward(const std::string& address);
  // Injects the message once to every remembered address (nothing to do: ok).
  Step finish_forwards();
  // The sender forwards carry: qmail's NEWSENDER (local-owner@host when a
  // .qmail-ext-owner file exists, the envelope sender otherwise).
  const std::string& new_sender() const { return new_sender_; }
  // The qmail-command(8) environment (exposed for tests).
  std::vector<std::string> environment() const;
  std::string path_in_home(const std::string& path) const;

 private:
  const Context& ctx_;
  std::string dtline_, rpline_, ufline_, new_sender_;
  std::vector<std::string> forwards_;
  Fd stdin_;  // the message for programs, made on first use
};

}  // namespace quail::ld
