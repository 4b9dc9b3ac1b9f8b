#include "seqguard/core/template.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <limits>
#include <utility>

namespace seqguard::core {

namespace {

constexpr int kMaxSeqWidth = 18;
// 2^63 has 19 digits: no int64 magnitude needs more.
constexpr std::size_t kMaxSeqDigits = 19;

constexpr const char* kTokenHint =
    "Valid tokens are {seq}, {seq:N} (N from 1 to 18), {YYYY}, {YY}, {MM}, {DD}, {FY:M} (M from 1 to 12), "
    "{IYYY}, {IY}, {IW}, {DDD} and {scope}; write {{ and }} for literal braces.";

// Positions in messages count characters, not bytes, so that a template with non-ASCII
// literals points at the token the user sees.
std::size_t char_position(std::string_view s, std::size_t byte_index) {
  std::size_t pos = 1;
  for (std::size_t i = 0; i < byte_index && i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++pos;
  }
  return pos;
}

[[noreturn]] void bad_token(std::string_view source, std::string_view what, std::string_view token,
                            std::size_t byte_index, std::string detail = {}) {
  throw Error(sqlstate::invalid_parameter_value,
              fmt::format("invalid template \"{}\": {} \"{}\" at position {}", source, what, token,
                          char_position(source, byte_index)),
              std::move(detail), kTokenHint);
}

// {seq:N}: N is written plainly (no sign, no leading zero, no blanks) so that one width
// has one spelling.
int parse_width(std::string_view digits) {
  if (digits.empty() || digits.size() > 2 || digits[0] == '0') return -1;
  int n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return n <= kMaxSeqWidth ? n : -1;
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

uint64_t magnitude(int64_t v) noexcept {
  // Unsigned negation: well defined for INT64_MIN, where -v would overflow.
  return v < 0 ? uint64_t{0} - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
}

int digit_count(uint64_t v) noexcept {
  int n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

void append_seq(std::string& out, int64_t value, int width) {
  if (value < 0) out.push_back('-');
  const fmt::format_int digits(static_cast<unsigned long long>(magnitude(value)));
  const std::size_t n = digits.size();
  if (n < static_cast<std::size_t>(width)) out.append(static_cast<std::size_t>(width) - n, '0');
  out.append(digits.data(), n);
}

void append_2(std::string& out, int v) {
  if (v >= 0 && v <= 99) {
    const char buf[2] = {static_cast<char>('0' + v / 10), static_cast<char>('0' + v % 10)};
    out.append(buf, 2);
  } else {
    fmt::format_to(std::back_inserter(out), "{:02d}", v);
  }
}

void append_4(std::string& out, int v) {
  if (v >= 0 && v <= 9999) {
    const char buf[4] = {static_cast<char>('0' + v / 1000), static_cast<char>('0' + v / 100 % 10),
                         static_cast<char>('0' + v / 10 % 10), static_cast<char>('0' + v % 10)};
    out.append(buf, 4);
  } else {
    fmt::format_to(std::back_inserter(out), "{:04d}", v);
  }
}

void append_3(std::string& out, int v) {
  if (v >= 0 && v <= 999) {
    const char buf[3] = {static_cast<char>('0' + v / 100), static_cast<char>('0' + v / 10 % 10),
                         static_cast<char>('0' + v % 10)};
    out.append(buf, 3);
  } else {
    fmt::format_to(std::back_inserter(out), "{:03d}", v);
  }
}

// "2024-2025" for the fiscal year that starts in 2024; just "2024" when it starts in
// January, where the fiscal year is the calendar year.
void append_fiscal(std::string& out, int start_year, int month) {
  append_4(out, start_year);
  if (month != 1) {
    out.push_back('-');
    append_4(out, start_year + 1);
  }
}

bool is_leap(int y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) noexcept {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `pos`; -1 when they are not all there.
int fixed_digits(std::string_view s, std::size_t pos, std::size_t n) noexcept {
  if (s.size() - pos < n) return -1;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (!is_digit(c)) return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

// Values bound so far while matching an ID; copied at each step so that backtracking
// needs no undo.
// Small on purpose: matching recurses once per part, with a copy in every frame.
struct Bindings {
  int16_t year4 = -1;
  int16_t year2 = -1;
  int16_t month = -1;
  int16_t day = -1;
  int16_t fiscal = -1;  // the year the fiscal year starts in
  int16_t iso4 = -1;
  int16_t iso2 = -1;
  int16_t iso_week = -1;
  int16_t yday = -1;
  bool scope_bound = false;
  std::string_view scope;
  int64_t value = 0;
};

struct Matcher {
  const Template& tpl;
  const std::vector<Template::Part>& parts;
  std::string_view id;
  std::optional<ParsedId> result;

  // Ties (an ID that more than one assignment renders to, e.g. `{scope}-{seq}` and
  // "EU--5") are broken by trying the shortest {scope} and the longest {seq} first:
  // "EU--5" is scope "EU", value -5.
  bool match(std::size_t pi, std::size_t pos, Bindings b) {
    if (pi == parts.size()) return pos == id.size() && finish(b);
    const Template::Part& part = parts[pi];
    switch (part.kind) {
      case Template::Kind::literal:
        return id.compare(pos, part.text.size(), part.text) == 0 && match(pi + 1, pos + part.text.size(), b);
      case Template::Kind::seq:
        return match_seq(pi, pos, b, part.width);
      case Template::Kind::scope:
        return match_scope(pi, pos, b);
      default: {
        // Kept out of this frame: its locals would be paid once per part of the template.
        const std::size_t next = bind_date_token(part, pos, b);
        return next != std::string_view::npos && match(pi + 1, next, b);
      }
    }
  }

  // Reads the date token `part` at `pos` into `b`; returns where it ends, or npos when
  // the text there is not that token or disagrees with what is bound.
  __attribute__((noinline)) std::size_t bind_date_token(const Template::Part& part, std::size_t pos,
                                                        Bindings& b) const {
    constexpr std::size_t no = std::string_view::npos;
    auto agree = [](int16_t bound, int v) { return bound < 0 || bound == v; };
    switch (part.kind) {
      case Template::Kind::year4: {
        const int y = fixed_digits(id, pos, 4);
        if (y < 1 || !agree(b.year4, y) || !agree(b.year2, y % 100)) return no;
        b.year4 = static_cast<int16_t>(y);
        return pos + 4;
      }
      case Template::Kind::year2: {
        const int y = fixed_digits(id, pos, 2);
        if (y < 0 || !agree(b.year2, y) || (b.year4 >= 0 && b.year4 % 100 != y)) return no;
        b.year2 = static_cast<int16_t>(y);
        return pos + 2;
      }
      case Template::Kind::month: {
        const int m = fixed_digits(id, pos, 2);
        if (m < 1 || m > 12 || !agree(b.month, m)) return no;
        b.month = static_cast<int16_t>(m);
        return pos + 2;
      }
      case Template::Kind::day: {
        const int d = fixed_digits(id, pos, 2);
        if (d < 1 || d > 31 || !agree(b.day, d)) return no;
        b.day = static_cast<int16_t>(d);
        return pos + 2;
      }
      case Template::Kind::fiscal_year: {
        // The start year has four digits (0000 for dates of year 1 before month M);
        // the end year is whatever render() prints for start + 1.
        const int y = fixed_digits(id, pos, 4);
        if (y < 0 || !agree(b.fiscal, y)) return no;
        std::size_t end = pos + 4;
        if (part.width != 1) {
          char buf[8];
          const int n = std::snprintf(buf, sizeof buf, "-%04d", y + 1);
          if (id.compare(end, static_cast<std::size_t>(n), buf, static_cast<std::size_t>(n)) != 0) return no;
          end += static_cast<std::size_t>(n);
        } else if (y < 1) {
          return no;
        }
        b.fiscal = static_cast<int16_t>(y);
        return end;
      }
      case Template::Kind::iso_year4: {
        const int y = fixed_digits(id, pos, 4);
        if (y < 1 || !agree(b.iso4, y) || !agree(b.iso2, y % 100)) return no;
        b.iso4 = static_cast<int16_t>(y);
        return pos + 4;
      }
      case Template::Kind::iso_year2: {
        const int y = fixed_digits(id, pos, 2);
        if (y < 0 || !agree(b.iso2, y) || (b.iso4 >= 0 && b.iso4 % 100 != y)) return no;
        b.iso2 = static_cast<int16_t>(y);
        return pos + 2;
      }
      case Template::Kind::iso_week: {
        const int w = fixed_digits(id, pos, 2);
        if (w < 1 || w > 53 || !agree(b.iso_week, w)) return no;
        b.iso_week = static_cast<int16_t>(w);
        return pos + 2;
      }
      case Template::Kind::day_of_year: {
        const int d = fixed_digits(id, pos, 3);
        if (d < 1 || d > 366 || !agree(b.yday, d)) return no;
        b.yday = static_cast<int16_t>(d);
        return pos + 3;
      }
      default:
        return no;
    }
  }

  bool match_scope(std::size_t pi, std::size_t pos, Bindings b) {
    const std::string_view rest = id.substr(pos);
    if (b.scope_bound) {
      return rest.substr(0, b.scope.size()) == b.scope && match(pi + 1, pos + b.scope.size(), b);
    }
    b.scope_bound = true;
    if (pi + 1 == parts.size()) {
      b.scope = rest;
      return match(pi + 1, id.size(), b);
    }
    // Only the places where the following literal occurs can end the scope; this keeps
    // a long non-matching value (sync reads arbitrary column text) from costing a full
    // quadratic search.
    const Template::Part& next = parts[pi + 1];
    if (next.kind == Template::Kind::literal) {
      for (std::size_t q = id.find(next.text, pos); q != std::string_view::npos; q = id.find(next.text, q + 1)) {
        b.scope = id.substr(pos, q - pos);
        if (match(pi + 1, q, b)) return true;
      }
      return false;
    }
    for (std::size_t len = 0; len <= rest.size(); ++len) {
      b.scope = rest.substr(0, len);
      if (match(pi + 1, pos + len, b)) return true;
    }
    return false;
  }

  bool match_seq(std::size_t pi, std::size_t pos, Bindings b, int width) {
    std::size_t p = pos;
    const bool negative = p < id.size() && id[p] == '-';
    if (negative) ++p;
    std::size_t run = 0;
    while (run < kMaxSeqDigits && p + run < id.size() && is_digit(id[p + run])) ++run;
    const std::size_t min_len = static_cast<std::size_t>(std::max(width, 1));
    for (std::size_t len = run; len >= min_len; --len) {
      const std::string_view digits = id.substr(p, len);
      // More digits than the padding asks for means no leading zero, or re-rendering
      // would give different text: "0012" is not a rendering of {seq:3}.
      if (len > min_len && digits[0] == '0') continue;
      uint64_t mag = 0;
      for (char c : digits) mag = mag * 10 + static_cast<uint64_t>(c - '0');
      constexpr uint64_t kMaxPositive = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
      if (negative) {
        // Zero renders without a sign.
        if (mag == 0 || mag > kMaxPositive + 1) continue;
        b.value = mag == kMaxPositive + 1 ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(mag);
      } else {
        if (mag > kMaxPositive) continue;
        b.value = static_cast<int64_t>(mag);
      }
      if (match(pi + 1, p + len, b)) return true;
    }
    return false;
  }

  // Whether `d` prints every bound date token as bound.
  bool consistent(const Bindings& b, const Date& d) const {
    if (d.year < 1 || d.year > 9999) return false;
    if (b.year4 >= 0 && d.year != b.year4) return false;
    if (b.year2 >= 0 && d.year % 100 != b.year2) return false;
    if (b.month >= 0 && d.month != b.month) return false;
    if (b.day >= 0 && d.day != b.day) return false;
    if (b.fiscal >= 0 && fiscal_start_year(d, tpl.fiscal_start_month()) != b.fiscal) return false;
    if (b.yday >= 0 && day_of_year(d) != b.yday) return false;
    if (b.iso4 >= 0 || b.iso2 >= 0 || b.iso_week >= 0) {
      const IsoWeek w = iso_week(d);
      if (b.iso4 >= 0 && w.year != b.iso4) return false;
      if (b.iso2 >= 0 && w.year % 100 != b.iso2) return false;
      if (b.iso_week >= 0 && w.week != b.iso_week) return false;
    }
    return true;
  }

  // Calls `f` with candidate dates of year `y` until it returns true: few of them, chosen
  // from the bound tokens, so that a match costs a handful of checks.
  template <class F>
  bool days_of_year(const Bindings& b, int y, F&& f) const {
    if (y < 1 || y > 9999) return false;
    if (b.yday >= 0) {
      if (b.yday > (is_leap(y) ? 366 : 365)) return false;
      return f(date_from_unix_days(unix_days_from_date({y, 1, 1}) + b.yday - 1));
    }
    if (b.month >= 0) {
      if (b.day >= 0) return b.day <= days_in_month(y, b.month) && f(Date{y, b.month, b.day});
      for (int d = 1; d <= days_in_month(y, b.month); ++d)
        if (f(Date{y, b.month, d})) return true;
      return false;
    }
    if (b.day >= 0) {
      for (int m = 1; m <= 12; ++m)
        if (b.day <= days_in_month(y, m) && f(Date{y, m, b.day})) return true;
      return false;
    }
    if (b.iso_week >= 0) {
      // Week w of ISO years y-1, y and y+1: the only ones that can hold days of year y.
      for (int iy = y - 1; iy <= y + 1; ++iy) {
        const int64_t jan4 = unix_days_from_date({iy, 1, 4});
        const int64_t monday = jan4 - ((jan4 + 3) % 7 + 7) % 7 + int64_t{7} * (b.iso_week - 1);
        for (int64_t k = 0; k < 7; ++k) {
          const Date d = date_from_unix_days(monday + k);
          if (d.year == y && f(d)) return true;
        }
      }
      return false;
    }
    // Only year-like tokens are bound: the first and last days of the year, the first
    // day of ISO week 1 and of the fiscal year decide every combination of them.
    const int fm = tpl.fiscal_start_month();
    const Date firsts[] = {{y, 1, 1}, {y, 1, 4}, {y, fm > 0 ? fm : 1, 1}, {y, 12, 28}, {y, 12, 31}};
    for (const Date& d : firsts)
      if (f(d)) return true;
    const int64_t first = unix_days_from_date({y, 1, 1});
    const int64_t last = unix_days_from_date({y, 12, 31});
    for (int64_t n = first; n <= last; ++n)
      if (f(date_from_unix_days(n))) return true;
    return false;
  }

  // A date that prints the bound tokens, if there is one. Candidate years come from the
  // most telling year token; with none bound, 2000..2027 hold every kind of year (each
  // weekday for 1 January, leap or not). Two-digit years read as 20YY, or, when no date
  // of that century prints the other tokens (a week 53 or a day 366 that 20YY lacks),
  // as the nearest century that has one: the calendar repeats every 400 years, so four
  // centuries are all there is to try.
  std::optional<Date> find_date(const Bindings& b) const {
    std::optional<Date> found;
    auto search = [&](int lo, int hi) {
      for (int y = lo; y <= hi && !found; ++y) {
        days_of_year(b, y, [&](const Date& d) {
          if (!consistent(b, d)) return false;
          found = d;
          return true;
        });
      }
      return found.has_value();
    };
    if (b.year4 >= 0) return search(b.year4, b.year4) ? found : std::nullopt;
    if (b.fiscal >= 0) {
      return search(b.fiscal, tpl.fiscal_start_month() == 1 ? b.fiscal : b.fiscal + 1) ? found : std::nullopt;
    }
    if (b.iso4 >= 0) return search(b.iso4 - 1, b.iso4 + 1) ? found : std::nullopt;
    if (b.year2 >= 0 || b.iso2 >= 0) {
      for (int century : {2000, 1900, 2100, 1800}) {
        if (b.year2 >= 0 ? search(century + b.year2, century + b.year2)
                         : search(century - 1 + b.iso2, century + 1 + b.iso2))
          return found;
      }
      return std::nullopt;
    }
    return search(2000, 2027) ? found : std::nullopt;
  }

  __attribute__((noinline)) bool finish(const Bindings& b) {
    std::optional<Date> at = find_date(b);
    if (!at) return false;
    // The checks above should make this redundant; it guarantees that whatever the
    // matcher accepts is exactly what render() would have produced.
    if (tpl.render(b.value, b.scope, *at) != id) return false;
    result = ParsedId{std::string(b.scope), tpl.period_key(*at), b.value, *at};
    return true;
  }
};

}  // namespace

const char* period_name(Period p) noexcept {
  switch (p) {
    case Period::none:
      return "none";
    case Period::year:
      return "year";
    case Period::fiscal_year:
      return "fiscal_year";
    case Period::iso_year:
      return "iso_year";
    case Period::month:
      return "month";
    case Period::week:
      return "week";
    case Period::day:
      return "day";
  }
  return "none";
}

Period period_from_reset(std::string_view name) {
  if (name == "never") return Period::none;
  if (name == "yearly") return Period::year;
  if (name == "fiscal") return Period::fiscal_year;
  if (name == "monthly") return Period::month;
  if (name == "weekly") return Period::week;
  if (name == "daily") return Period::day;
  throw Error(sqlstate::invalid_parameter_value, fmt::format("invalid value for parameter \"reset\": \"{}\"", name), {},
              "Valid values are 'never', 'yearly', 'fiscal', 'monthly', 'weekly' and 'daily'; NULL restarts "
              "counters with the period the template's date tokens give.");
}

Template Template::parse(std::string_view source) {
  Template t;
  t.source_ = std::string(source);
  if (source.empty()) {
    throw Error(sqlstate::invalid_parameter_value, "invalid template \"\": the template is empty", {},
                "A template needs a {seq} or {seq:N} token, e.g. ASM-{YYYY}-{seq:3}.");
  }

  std::string literal;
  auto flush_literal = [&] {
    if (!literal.empty()) {
      t.parts_.push_back(Part{Kind::literal, std::move(literal), 0});
      literal.clear();
    }
  };
  bool has_seq = false;

  for (std::size_t i = 0; i < source.size();) {
    const char c = source[i];
    if (c == '}') {
      if (i + 1 < source.size() && source[i + 1] == '}') {
        literal.push_back('}');
        i += 2;
        continue;
      }
      bad_token(source, "unmatched", "}", i);
    }
    if (c != '{') {
      literal.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 < source.size() && source[i + 1] == '{') {
      literal.push_back('{');
      i += 2;
      continue;
    }
    const std::size_t close = source.find('}', i + 1);
    if (close == std::string_view::npos) bad_token(source, "unterminated token", source.substr(i), i);
    const std::string_view token = source.substr(i, close - i + 1);
    const std::string_view name = token.substr(1, token.size() - 2);

    Part part{Kind::literal, {}, 0};
    if (name == "seq") {
      part.kind = Kind::seq;
    } else if (name.substr(0, 4) == "seq:") {
      part.kind = Kind::seq;
      part.width = parse_width(name.substr(4));
      if (part.width < 0) bad_token(source, "invalid width (must be 1 to 18) in token", token, i);
    } else if (name == "YYYY") {
      part.kind = Kind::year4;
    } else if (name == "YY") {
      part.kind = Kind::year2;
    } else if (name == "MM") {
      part.kind = Kind::month;
    } else if (name == "DD") {
      part.kind = Kind::day;
    } else if (name == "FY") {
      bad_token(source, "fiscal year without its first month in token", token, i,
                "Write {FY:M} with M the month (1 to 12) the fiscal year starts in, e.g. {FY:4}.");
    } else if (name.substr(0, 3) == "FY:") {
      part.kind = Kind::fiscal_year;
      part.width = parse_width(name.substr(3));
      if (part.width < 1 || part.width > 12) bad_token(source, "invalid month (must be 1 to 12) in token", token, i);
      if (t.fiscal_month_ != 0 && t.fiscal_month_ != part.width) {
        bad_token(source, "second fiscal year start in token", token, i,
                  "All {FY:M} tokens of a template name the same month.");
      }
      t.fiscal_month_ = part.width;
    } else if (name == "IYYY") {
      part.kind = Kind::iso_year4;
    } else if (name == "IY") {
      part.kind = Kind::iso_year2;
    } else if (name == "IW") {
      part.kind = Kind::iso_week;
    } else if (name == "DDD") {
      part.kind = Kind::day_of_year;
    } else if (name == "scope") {
      part.kind = Kind::scope;
    } else {
      bad_token(source, "unknown token", token, i);
    }
    if (part.kind == Kind::seq) {
      if (has_seq) {
        bad_token(source, "second {seq} token", token, i, "A template has exactly one {seq} or {seq:N} token.");
      }
      has_seq = true;
    }
    flush_literal();
    t.parts_.push_back(std::move(part));
    i = close + 1;
  }
  flush_literal();

  if (!has_seq) {
    throw Error(sqlstate::invalid_parameter_value, fmt::format("template \"{}\" has no {{seq}} token", source),
                {}, "Add {seq} or {seq:N}, e.g. ASM-{YYYY}-{seq:3}.");
  }
  // The finest identified unit; at equal size the calendar year wins over the fiscal
  // and the ISO year, which all make IDs that never repeat.
  for (Period p : {Period::day, Period::week, Period::month, Period::year, Period::fiscal_year, Period::iso_year}) {
    if (t.identifies(p)) {
      t.rule_period_ = p;
      break;
    }
  }
  t.period_ = t.rule_period_;
  return t;
}

namespace {

struct Printed {
  bool year = false, fiscal = false, iso_year = false, month = false, day = false, iso_week = false, yday = false;
};

Printed printed(const std::vector<Template::Part>& parts, int fiscal_month) {
  Printed p;
  for (const Template::Part& part : parts) {
    switch (part.kind) {
      case Template::Kind::year4:
      case Template::Kind::year2:
        p.year = true;
        break;
      case Template::Kind::fiscal_year:
        p.fiscal = true;
        break;
      case Template::Kind::iso_year4:
      case Template::Kind::iso_year2:
        p.iso_year = true;
        break;
      case Template::Kind::month:
        p.month = true;
        break;
      case Template::Kind::day:
        p.day = true;
        break;
      case Template::Kind::iso_week:
        p.iso_week = true;
        break;
      case Template::Kind::day_of_year:
        p.yday = true;
        break;
      default:
        break;
    }
  }
  // A fiscal year that starts in January is the calendar year.
  if (p.fiscal && fiscal_month == 1) p.year = true;
  return p;
}

}  // namespace

bool Template::identifies(Period period) const noexcept {
  const Printed p = printed(parts_, fiscal_month_);
  // A fiscal year is twelve whole months: with {MM} it tells months apart, with
  // {MM}{DD} days. ({DDD} does not: 1 March and 29 February of the next year can share
  // a number within one fiscal year.)
  const bool day = (p.year && p.month && p.day) || (p.year && p.yday) || (p.fiscal && p.month && p.day);
  const bool month = day || ((p.year || p.fiscal) && p.month);
  const bool week = day || (p.iso_year && p.iso_week);
  switch (period) {
    case Period::none:
      return true;
    case Period::day:
      return day;
    case Period::week:
      return week;
    case Period::month:
      return month;
    case Period::year:
      return month || p.year;
    case Period::fiscal_year:
      return p.fiscal;
    case Period::iso_year:
      return week || p.iso_year;
  }
  return false;
}

void Template::set_reset(Period period) {
  if (!identifies(period)) {
    const Printed p = printed(parts_, fiscal_month_);
    const char* missing = "";
    switch (period) {
      case Period::year:
        missing = "{YYYY} or {YY}";
        break;
      case Period::fiscal_year:
        missing = "{FY:M}";
        break;
      case Period::month:
        missing = p.year || p.fiscal ? "{MM}" : "{YYYY} or {YY}";
        break;
      case Period::week:
        missing = p.iso_year ? "{IW}" : "{IYYY} or {IY}";
        break;
      case Period::day:
        missing = !p.year && !p.fiscal ? "{YYYY} or {YY}"
                  : p.month            ? "{DD}"
                  : p.year             ? "{DDD} (or {MM} and {DD})"
                                       : "{MM} and {DD}";
        break;
      default:
        break;
    }
    throw Error(sqlstate::invalid_parameter_value,
                fmt::format("template \"{}\" cannot restart {} counters: it does not print {}", source_,
                            period == Period::day     ? "daily"
                            : period == Period::week  ? "weekly"
                            : period == Period::month ? "monthly"
                            : period == Period::year  ? "yearly"
                                                      : "fiscal-year",
                            missing),
                "IDs of two periods would print alike.",
                "Print the missing token, or choose a coarser reset.");
  }
  period_ = period;
}

void Template::use_1_0_period() noexcept {
  bool year = false, month = false, day = false;
  for (const Part& p : parts_) {
    year |= p.kind == Kind::year4 || p.kind == Kind::year2;
    month |= p.kind == Kind::month;
    day |= p.kind == Kind::day;
  }
  period_ = day ? Period::day : month ? Period::month : year ? Period::year : Period::none;
}

bool Template::uses_1_1_tokens() const noexcept {
  return std::any_of(parts_.begin(), parts_.end(), [](const Part& p) {
    return p.kind == Kind::fiscal_year || p.kind == Kind::iso_year4 || p.kind == Kind::iso_year2 ||
           p.kind == Kind::iso_week || p.kind == Kind::day_of_year;
  });
}

std::string Template::render(int64_t value, std::string_view scope, const Date& at) const {
  std::string out;
  out.reserve(source_.size() + scope.size() + kMaxSeqDigits + 1);
  render_to(out, value, scope, at);
  return out;
}

void Template::render_to(std::string& out, int64_t value, std::string_view scope, const Date& at) const {
  if (rendered_.at.year != at.year || rendered_.at.month != at.month || rendered_.at.day != at.day) {
    rendered_.at = Date{0, 0, 0};  // stays invalid if rendering throws halfway
    rendered_.chunks.assign(1, std::string());
    for (const Part& p : parts_) {
      if (p.kind == Kind::seq || p.kind == Kind::scope) {
        rendered_.chunks.emplace_back();
      } else {
        render_date_part(rendered_.chunks.back(), p, at);
      }
    }
    rendered_.at = at;
  }
  std::size_t k = 0;
  out.append(rendered_.chunks[k]);
  for (const Part& p : parts_) {
    if (p.kind == Kind::seq) {
      append_seq(out, value, p.width);
    } else if (p.kind == Kind::scope) {
      out.append(scope);
    } else {
      continue;
    }
    out.append(rendered_.chunks[++k]);
  }
}

void Template::render_date_part(std::string& out, const Part& p, const Date& at) const {
  switch (p.kind) {
    case Kind::literal:
      out.append(p.text);
      break;
    case Kind::year4:
      append_4(out, at.year);
      break;
    case Kind::year2:
      append_2(out, (at.year % 100 + 100) % 100);
      break;
    case Kind::month:
      append_2(out, at.month);
      break;
    case Kind::day:
      append_2(out, at.day);
      break;
    case Kind::fiscal_year:
      append_fiscal(out, fiscal_start_year(at, p.width), p.width);
      break;
    case Kind::iso_year4:
      append_4(out, iso_week(at).year);
      break;
    case Kind::iso_year2:
      append_2(out, iso_week(at).year % 100);
      break;
    case Kind::iso_week:
      append_2(out, iso_week(at).week);
      break;
    case Kind::day_of_year:
      append_3(out, day_of_year(at));
      break;
    case Kind::seq:
    case Kind::scope:
      break;  // per ID, see render_to
  }
}

bool Template::overflows(int64_t value) const noexcept {
  const int width = seq_width();
  return width > 0 && digit_count(magnitude(value)) > width;
}

std::string Template::period_key(const Date& at) const {
  switch (period_) {
    case Period::none:
      return {};
    case Period::year:
      return fmt::format("{:04d}", at.year);
    case Period::fiscal_year:
      return fmt::format("FY{:04d}-{:02d}", fiscal_start_year(at, fiscal_month_), fiscal_month_);
    case Period::iso_year:
      return fmt::format("ISO{:04d}", iso_week(at).year);
    case Period::month:
      return fmt::format("{:04d}-{:02d}", at.year, at.month);
    case Period::week: {
      const IsoWeek w = iso_week(at);
      return fmt::format("{:04d}-W{:02d}", w.year, w.week);
    }
    case Period::day:
      return fmt::format("{:04d}-{:02d}-{:02d}", at.year, at.month, at.day);
  }
  return {};
}

std::optional<ParsedId> Template::parse_id(std::string_view id) const {
  // A counter is keyed by its period: an ID whose period the text does not pin down
  // cannot be assigned to a counter.
  if (!identifies(period_)) return std::nullopt;
  Matcher m{*this, parts_, id, std::nullopt};
  m.match(0, 0, Bindings{});
  return std::move(m.result);
}

int Template::seq_width() const noexcept {
  for (const Part& p : parts_) {
    if (p.kind == Kind::seq) return p.width;
  }
  return 0;
}

bool Template::has_scope() const noexcept {
  return std::any_of(parts_.begin(), parts_.end(), [](const Part& p) { return p.kind == Kind::scope; });
}

// Howard Hinnant's civil_from_days / days_from_civil
// (http://howardhinnant.github.io/date_algorithms.html), in 64-bit arithmetic.
Date date_from_unix_days(int64_t days) noexcept {
  // Far outside any PostgreSQL date; the clamp only keeps the arithmetic and the int
  // year free of overflow.
  constexpr int64_t kLimit = int64_t{1} << 39;
  int64_t z = std::clamp(days, -kLimit, kLimit) + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;                                   // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);             // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                  // [0, 11], March first
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return Date{static_cast<int>(y), static_cast<int>(m), static_cast<int>(d)};
}

int64_t unix_days_from_date(const Date& d) noexcept {
  const int64_t m = d.month;
  const int64_t y = static_cast<int64_t>(d.year) - (m <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;                                       // [0, 399]
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d.day - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;               // [0, 146096]
  return era * 146097 + doe - 719468;
}

int day_of_year(const Date& d) noexcept {
  static constexpr int kBefore[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  return kBefore[d.month - 1] + d.day + (d.month > 2 && is_leap(d.year) ? 1 : 0);
}

int fiscal_start_year(const Date& d, int month) noexcept { return d.month >= month ? d.year : d.year - 1; }

IsoWeek iso_week(const Date& d) noexcept {
  // The Thursday of d's week decides: its year is the ISO year, and its day of the year
  // counts the weeks. 1970-01-01 was a Thursday.
  const int64_t n = unix_days_from_date(d);
  const int64_t weekday = ((n + 3) % 7 + 7) % 7;  // Monday 0 .. Sunday 6
  const int64_t thursday = n - weekday + 3;
  Date t = d;
  const int64_t shift = thursday - n;  // -3 .. 3
  t.day += static_cast<int>(shift);
  if (t.day < 1 || t.day > days_in_month(t.year, t.month)) t = date_from_unix_days(thursday);
  return IsoWeek{t.year, (day_of_year(t) - 1) / 7 + 1};
}

}  // namespace seqguard::core
