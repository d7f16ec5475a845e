// smtpd's side of the DNS lists when quail up runs it as `smtpd dnsbl`: the
// resident dnsbl's verdict on this connection, taken before the greeting
// (man/smtpd.8, man/dnsbl.8 "Resident mode").
#pragma once
#include <string>

namespace quail::smtpd {

// Asks the resident dnsbl about the client (TCPREMOTEIP) and sets DNSWL or
// RBLSMTPD as the dnsbl wrapper would; true when the verdict was a refusal at
// connection, which has then been held here (the session is over). Not asked
// for our own clients (RELAYCLIENT) or a client RBLSMTPD already names. With no
// resident dnsbl to ask, or one gone before answering, the dnsbl wrapper is
// exec'd in our place with our command line minus "dnsbl", so it execs smtpd
// again; it fails open on one that does not answer in control/timeoutdnsbl.
bool dnsbl_refused(const std::string& root, int argc, char** argv);

}  // namespace quail::smtpd
