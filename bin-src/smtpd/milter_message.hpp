// A message spooled for the filters (LF line ends, as the queue takes it): its
// header fields for SMFIC_HEADER, its body for SMFIC_BODY, and the filters'
// changes applied as it is handed to the queue. Headers unchanged by a filter
// are written back byte for byte.
#pragma once
#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

#include "envelope.hpp"
#include "inject_client.hpp"
#include "milter_wire.hpp"

namespace quail::smtpd {

class HeaderField {
 public:
  explicit HeaderField(std::string raw) : raw_(std::move(raw)) {}
  // The field as stored: "Name: value\n\tfolded", without the final LF.
  const std::string& raw() const { return raw_; }
  std::string name() const { return raw_.substr(0, raw_.find(':')); }
  // After the colon; without its leading blanks unless keep_lead (SMFIP_HDR_LEADSPC).
  std::string value(bool keep_lead) const;

 private:
  std::string raw_;
};

class SpooledMessage {
 public:
  // Reads the header section from the spool. False on a read error.
  bool parse(int fd);
  const std::vector<HeaderField>& headers() const { return headers_; }
  off_t body_offset() const { return body_; }
  // The next piece of the original body from at (up to 64 KiB; empty at its end).
  bool read_body(int fd, off_t at, std::string& piece) const;

  // Applies one change of a filter (leadspace: its values keep their leading
  // blanks) to the header fields, body or envelope. False for a change that
  // cannot be applied (an address that is no address): it is skipped.
  bool apply(const milter::Reply& change, bool leadspace, Envelope& env);
  // Writes the message as changed (the spool as it is when nothing changed).
  bool write(int fd, MessageSink& out) const;
  bool changed() const { return headers_changed_ || new_body_.has_value(); }

 private:
  std::vector<HeaderField> headers_;
  off_t body_ = 0;          // where the body starts in the spool
  bool separator_ = false;  // an empty line ends the header section
  bool headers_changed_ = false;
  std::optional<std::string> new_body_;  // SMFIR_REPLBODY chunks, CRLF as sent
};

}  // namespace quail::smtpd
