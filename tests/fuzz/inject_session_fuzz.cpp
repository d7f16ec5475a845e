// libFuzzer harness for queue-inject's session framing (lib/inject_frame, what
// queue-inject -s reads on fd 0 and smtpd's answers on the way back): the parser
// always makes progress, never reports more octets than it was given, gives the
// same events however the input is split, stays failed after an error; and an
// answer line that parses formats back to itself.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "inject_frame.hpp"

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

struct Outcome {
  std::vector<std::string> events;  // "d"+octets (merged), "e"+envelope, "a", "!"
  bool boundary = true;
};

Outcome run(std::string_view in, size_t step) {
  quail::frame::Parser p;
  Outcome o;
  size_t data_total = 0;
  for (size_t off = 0; off < in.size();) {
    std::string_view piece = in.substr(off, step);
    off += piece.size();
    while (!piece.empty()) {
      size_t used = 0;
      quail::frame::Event ev;
      if (!p.next(piece, used, ev)) {
        o.events.push_back("!");
        size_t again = 7;
        require(!p.next(piece, again, ev) && again == 0);  // failed for good, consumes nothing
        require(!p.at_boundary());
        return o;
      }
      require(used <= piece.size());
      require(used > 0 || ev.kind != quail::frame::Event::Kind::none);
      using Kind = quail::frame::Event::Kind;
      if (ev.kind == Kind::data) {
        require(!ev.bytes.empty() && ev.bytes.size() <= used && ev.bytes.size() <= quail::frame::max_chunk);
        require(ev.bytes.data() == piece.data());  // a view into the input, not a copy
        data_total += ev.bytes.size();
        if (!o.events.empty() && o.events.back()[0] == 'd') {
          o.events.back().append(ev.bytes);
        } else {
          o.events.push_back("d" + std::string(ev.bytes));
        }
      } else if (ev.kind == Kind::end) {
        require(!ev.bytes.empty() && ev.bytes.size() <= quail::frame::max_envelope);
        require(p.at_boundary());
        o.events.push_back("e" + std::string(ev.bytes));
      } else if (ev.kind == Kind::aborted) {
        require(p.at_boundary());
        o.events.push_back("a");
      }
      piece.remove_prefix(used);
    }
  }
  require(data_total <= in.size());
  o.boundary = p.at_boundary();
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = 1 + data[0] % 17;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  Outcome whole = run(in, in.size() + 1);
  Outcome split = run(in, step);
  require(whole.events == split.events);
  require(whole.boundary == split.boundary);

  auto a = quail::frame::parse_answer(in);
  if (a) {
    require(a->code >= 0 && a->code <= 255);
    std::string line = quail::frame::format_answer(a->code, a->text);
    require(line.size() <= quail::frame::max_answer && line.back() == '\n');
    require(std::string_view(line).substr(0, line.size() - 1) == in);
  }
  return 0;
}
