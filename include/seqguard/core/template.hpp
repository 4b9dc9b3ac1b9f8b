// Templates of formatted IDs (docs/reference.md, "Templates" and "Periods"):
// `ASM-{YYYY}-{seq:3}`, `ICCT-{seq:3}`, `INV/{YY}{MM}/{scope}/{seq:5}`.
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

// The calendar unit a counter restarts with. Weeks and ISO years are ISO 8601's; a
// fiscal year starts on the 1st of the month its {FY:M} token names.
enum class Period { none, year, fiscal_year, iso_year, month, week, day };

// "none", "year", "fiscal_year", "iso_year", "month", "week", "day".
const char* period_name(Period p) noexcept;

// The period a `reset => '...'` name asks for: 'never', 'yearly', 'fiscal', 'monthly',
// 'weekly', 'daily'. Throws Error(22023) naming the value otherwise.
Period period_from_reset(std::string_view name);

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
  Date at;                 // a date that renders to this ID (one of them, when the
                           // template prints less than the whole date)
};

class Template {
 public:
  enum class Kind {
    literal,
    seq,
    year4,        // {YYYY}
    year2,        // {YY}
    month,        // {MM}
    day,          // {DD}
    fiscal_year,  // {FY:M}
    iso_year4,    // {IYYY}
    iso_year2,    // {IY}
    iso_week,     // {IW}
    day_of_year,  // {DDD}
    scope
  };
  struct Part {
    Kind kind;
    std::string text;  // literal text (braces already unescaped), empty otherwise
    int width;         // {seq:N}: N; {seq}: 0; {FY:M}: M
  };

  // Throws Error(22023) naming the 1-based character position of the bad token:
  // unknown token, unterminated brace, stray '}', missing or repeated {seq}, N out of
  // 1..18, M out of 1..12 (or two different M), empty template.
  //
  // The period is the finest calendar unit whose enclosing units the template all
  // prints, so that two IDs of one counter can never print alike: a year ({YYYY},
  // {YY}) alone is yearly, with {MM} monthly, with {MM}{DD} or {DDD} daily; {FY:M}
  // likewise per fiscal year, month ({MM}) and day ({MM}{DD}); an ISO year ({IYYY},
  // {IY}) alone per ISO year, with {IW} weekly; no year: one period forever. Date
  // tokens printed without their enclosing units are decoration.
  static Template parse(std::string_view source);

  // Chooses a coarser period than the rule gives (`reset => ...`). Throws
  // Error(22023) naming the missing token when the printed tokens cannot tell two
  // periods of that unit apart (IDs would repeat).
  void set_reset(Period period);

  // seqguard 1.0 restarted a counter with the finest of {YYYY} {YY} {MM} {DD} printed,
  // whatever else was printed: the period a 1.0 database's counters are keyed by. Only
  // for databases not yet updated to 1.1, and to convert their counters.
  void use_1_0_period() noexcept;

  // True when the template prints a token seqguard 1.0 did not know.
  bool uses_1_1_tokens() const noexcept;

  // Renders one ID. Padding widens and never truncates: value 1000 with {seq:3} gives
  // "1000". Negative values render as '-' followed by the zero-padded magnitude.
  std::string render(int64_t value, std::string_view scope, const Date& at) const;
  void render_to(std::string& out, int64_t value, std::string_view scope, const Date& at) const;

  // True when `value` needs more digits than {seq:N} gives (on_overflow => 'error').
  bool overflows(int64_t value) const noexcept;

  // The period counters restart with (the rule's, or the reset's).
  Period period() const noexcept { return period_; }
  // The period the rule alone gives.
  Period rule_period() const noexcept { return rule_period_; }
  // Whether the printed tokens tell every two periods of `p` apart.
  bool identifies(Period p) const noexcept;
  // {FY:M}: M; 0 when the template has no fiscal year.
  int fiscal_start_month() const noexcept { return fiscal_month_; }

  // The key of the counter period `at` falls in: "" (none), "2026" (year),
  // "FY2025-04" (fiscal year that starts in April 2025), "ISO2020" (ISO year),
  // "2026-11" (month), "2020-W53" (ISO week), "2026-11-23" (day). Keys of one kind
  // sort in time order; keys of different kinds never look alike.
  std::string period_key(const Date& at) const;

  // Parses a rendered ID back. Returns nothing when `id` is not a rendering of this
  // template, or when its period cannot be recovered from the text (only with
  // use_1_0_period(), e.g. {MM} without a year). Only canonical renderings match:
  // `ICCT-0012` is not `ICCT-{seq:3}` of 12.
  std::optional<ParsedId> parse_id(std::string_view id) const;

  const std::string& source() const noexcept { return source_; }
  const std::vector<Part>& parts() const noexcept { return parts_; }
  int seq_width() const noexcept;
  bool has_scope() const noexcept;

 private:
  std::string source_;
  std::vector<Part> parts_;
  Period period_ = Period::none;
  Period rule_period_ = Period::none;
  int fiscal_month_ = 0;

  // Everything but {seq} and {scope} prints the same for every ID of one date, and a
  // bulk insert renders a million IDs of one date: the text around them is rendered
  // once per date and reused. Mutable because rendering is logically const; a
  // Template is used from one thread (a backend) at a time.
  struct Rendered {
    Date at{0, 0, 0};                 // no valid date: nothing rendered yet
    std::vector<std::string> chunks;  // before, between and after the {seq}/{scope} parts
  };
  mutable Rendered rendered_;
  void render_date_part(std::string& out, const Part& p, const Date& at) const;
};

// Calendar facts the tokens print. ISO 8601 weeks start on Monday; week 1 is the one
// with the year's first Thursday.
int day_of_year(const Date& d) noexcept;                  // 1..366
int fiscal_start_year(const Date& d, int month) noexcept;  // the year its fiscal year starts in
struct IsoWeek {
  int year;
  int week;  // 1..53
};
IsoWeek iso_week(const Date& d) noexcept;

// Days since 1970-01-01 (PostgreSQL's date is days since 2000-01-01: add 10957)
// to a civil date, and back. Pure arithmetic, valid for years 1..9999.
Date date_from_unix_days(int64_t days) noexcept;
int64_t unix_days_from_date(const Date& d) noexcept;

}  // namespace seqguard::core
