// Templates of formatted IDs (SPEC section 1): `ASM-{YYYY}-{seq:3}`, `ICCT-{seq:3}`,
// `INV/{YY}{MM}/{scope}/{seq:5}`.
//
// A template is parsed once, when a series is created or first used by a backend, into
// a list of parts; rendering is then a walk over that list with no parsing and no
// allocation beyond the output buffer. The same compiled form parses rendered IDs back
// into (scope, period, number), which sync needs to move counters past imported data.
#pragma once
#include "seqguard/core/cpp_only.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "seqguard/core/error.hpp"

namespace seqguard::core {

// The granularity of a counter's period, from the finest date token of its template.
enum class Period { none, year, month, day };

const char* period_name(Period p) noexcept;  // "none", "year", "month", "day"

struct Date {
  int year;   // 1..9999
  int month;  // 1..12
  int day;    // 1..31
};

// Result of parsing a rendered ID back.
struct ParsedId {
  std::string scope;       // empty when the template has no {scope}
  std::string period_key;  // same format as Template::period_key()
  int64_t value;
};

class Template {
 public:
  enum class Kind { literal, seq, year4, year2, month, day, scope };
  struct Part {
    Kind kind;
    std::string text;  // literal text (braces already unescaped), empty otherwise
    int width;         // {seq:N}: N; {seq}: 0
  };

  // Throws Error(22023) naming the 1-based character position of the bad token:
  // unknown token, unterminated brace, stray '}', missing or repeated {seq}, N out of
  // 1..18, empty template.
  static Template parse(std::string_view source);

  // Renders one ID. Padding widens and never truncates: value 1000 with {seq:3} gives
  // "1000". Negative values render as '-' followed by the zero-padded magnitude.
  std::string render(int64_t value, std::string_view scope, const Date& at) const;
  void render_to(std::string& out, int64_t value, std::string_view scope, const Date& at) const;

  // True when `value` needs more digits than {seq:N} gives (on_overflow => 'error').
  bool overflows(int64_t value) const noexcept;

  Period period() const noexcept { return period_; }

  // The key of the counter period `at` falls in: "" (none), "2026" (year),
  // "2026-11" (month), "2026-11-23" (day). Keys sort in time order.
  std::string period_key(const Date& at) const;

  // Parses a rendered ID back. Returns nothing when `id` is not a rendering of this
  // template, or when its period cannot be recovered from the text (e.g. {MM} without a
  // year token). Only canonical renderings match: `ICCT-0012` is not `ICCT-{seq:3}` of 12.
  std::optional<ParsedId> parse_id(std::string_view id) const;

  const std::string& source() const noexcept { return source_; }
  const std::vector<Part>& parts() const noexcept { return parts_; }
  int seq_width() const noexcept;
  bool has_scope() const noexcept;

 private:
  std::string source_;
  std::vector<Part> parts_;
  Period period_ = Period::none;
};

// Days since 1970-01-01 (PostgreSQL's date is days since 2000-01-01: add 10957)
// to a civil date, and back. Pure arithmetic, valid for years 1..9999.
Date date_from_unix_days(int64_t days) noexcept;
int64_t unix_days_from_date(const Date& d) noexcept;

}  // namespace seqguard::core
