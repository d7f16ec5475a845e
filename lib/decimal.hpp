// The one strict decimal reader every quail format uses for its numbers (queue
// header, journal, control files, SMTP SIZE/BDAT, inject frames, spawner packets).
// It never wraps and never saturates: a value above the caller's maximum is refused.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace quail {

// Whether a format allows "007" for 7. Formats quail writes itself refuse it (one
// spelling per value, so parse -> format -> parse is exact); fixed-width fields and
// protocols whose grammar is 1*DIGIT allow it.
enum class LeadingZeros { refuse, allow };

// True when s is one or more ASCII digits ("0" alone, or no leading zero, under
// LeadingZeros::refuse): the syntax, whatever the value. No sign, no space.
bool is_decimal(std::string_view s, LeadingZeros zeros = LeadingZeros::refuse);

// The value of s when is_decimal(s, zeros) and it is at most max; nullopt
// otherwise, also for any number of digits whose value passes UINT64_MAX.
std::optional<uint64_t> parse_decimal(std::string_view s, uint64_t max, LeadingZeros zeros = LeadingZeros::refuse);

inline constexpr uint64_t decimal_int64_max = static_cast<uint64_t>(INT64_MAX);

}  // namespace quail
