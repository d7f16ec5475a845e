// DKIM signing on the way out (man/remote-deliver.8, DKIM SIGNING): a message
// whose envelope says it came from a local or authenticated sender is signed with
// every key of its From domain (control/dkim/), over the exact form the peer gets
// (after any 8BITMIME downgrade); a list's mail (origin=list) with the keys of the
// list's domain, its envelope sender's. Mail relayed from outside is never signed.
#pragma once
#include <string>
#include <vector>

#include "dkim_store.hpp"
#include "envelope.hpp"
#include "result.hpp"

namespace quail::rd {

// The envelope marks a local or authenticated origin (queue-layout/envelope.md):
// auth=<login> (smtpd after AUTH), origin=local (sendmail, inject), origin=relayclient
// (smtpd for a client with relay rights from control/rules.*).
bool signable_origin(const Envelope& e);
// The domain a message is signed for whatever its From says: the envelope
// sender's domain for origin=list (list-post's VERP sender, list-return-N-@domain-@[]),
// "" otherwise (the From domain). A list signs all it sends, posts from any author.
std::string signing_domain(const Envelope& e);

class Signer {
 public:
  // Loads the keys of domain (when "", of the From domain) when signable; config
  // error when its key files are bad (the caller defers: better late than unsigned).
  Status load(const std::string& control_dir, const std::string& msg, bool signable, const std::string& message,
              const std::string& domain = "");
  // The DKIM-Signature fields to put on top of message ("" when not signing).
  std::string fields(const std::string& message) const;

 private:
  std::string msg_;
  std::vector<dkim::StoredKey> keys_;
};

}  // namespace quail::rd
