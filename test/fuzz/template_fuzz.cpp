// libFuzzer target: the template parser, the renderer and the ID parser, on hostile input.
//
// An input is up to five fields separated by newlines, so that the committed corpus can
// be read and written by hand:
//
//   template \n scope \n value \n date \n id
//
// value is a decimal number (wraps around modulo 2^64, so INT64_MIN is reachable), date is
// a day number counted from 0001-01-01 and clamped to 9999-12-31, id is any text that
// parse_id() is asked about. Missing fields are empty (value and date: 0).
//
// What must hold, whatever the bytes:
//   - Template::parse either succeeds or throws core::Error with SQLSTATE 22023 (any
//     other exception escapes and libFuzzer reports it as a crash);
//   - render() of a parsed template, with any value, scope and valid date, parses back:
//     parse_id() finds it, the result renders to the same text, and without a {scope}
//     token it is exactly the value that was rendered, with its period when the year is
//     unambiguous; the same holds after set_reset() to any period the template accepts,
//     and set_reset() either accepts a period or refuses it with 22023;
//   - parse_id() of arbitrary text returns nothing or an ID that renders to that text;
//   - nothing reads out of bounds, overflows a signed integer or leaks (ASan/UBSan/LSan).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "seqguard/core/error.hpp"
#include "seqguard/core/template.hpp"

namespace {

using seqguard::core::Date;
using seqguard::core::Error;
using seqguard::core::ParsedId;
using seqguard::core::Period;
using seqguard::core::Template;

[[noreturn]] void fail(const char* what, const std::string& a = {}, const std::string& b = {}) {
  std::fprintf(stderr, "template_fuzz: %s\n  [%s]\n  [%s]\n", what, a.c_str(), b.c_str());
  std::abort();
}

int64_t wrapping_decimal(std::string_view s) {
  bool negative = !s.empty() && s[0] == '-';
  uint64_t v = 0;
  for (char c : s.substr(negative ? 1 : 0)) {
    if (c >= '0' && c <= '9') v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (negative) v = uint64_t{0} - v;
  return static_cast<int64_t>(v);  // modulo 2^64 (two's complement since C++20, and in practice)
}

// Days of 0001-01-01 and 9999-12-31 since 1970-01-01.
constexpr int64_t kFirstDay = -719162;
constexpr int64_t kLastDay = 2932896;

Date date_of(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) {
    if (c >= '0' && c <= '9') v = (v * 10 + static_cast<uint64_t>(c - '0')) % 100000000;
  }
  int64_t days = kFirstDay + static_cast<int64_t>(v % static_cast<uint64_t>(kLastDay - kFirstDay + 1));
  return seqguard::core::date_from_unix_days(days);
}

bool has(const Template& t, Template::Kind k) {
  for (const auto& p : t.parts())
    if (p.kind == k) return true;
  return false;
}

void check_renders_back(const Template& t, const ParsedId& p, std::string_view id) {
  std::string again = t.render(p.value, p.scope, p.at);
  if (again != id) fail("parse_id result does not render to the parsed text", std::string(id), again);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> f;
  for (int i = 0; i < 4; i++) {
    std::size_t nl = in.find('\n');
    if (nl == std::string_view::npos) break;
    f.push_back(in.substr(0, nl));
    in.remove_prefix(nl + 1);
  }
  f.push_back(in);
  f.resize(5);
  const std::string_view source = f[0], scope = f[1], id = f[4];
  const int64_t value = wrapping_decimal(f[2]);
  const Date at = date_of(f[3]);

  std::optional<Template> tpl;
  try {
    tpl = Template::parse(source);
  } catch (const Error& e) {
    if (std::string_view(e.sqlstate()) != "22023") fail("parse error with an unexpected SQLSTATE", e.sqlstate());
    if (std::string_view(e.what()).empty()) fail("parse error without a message", std::string(source));
    return 0;
  }
  const Template& t = *tpl;
  if (t.source() != source) fail("source not kept", std::string(source), t.source());

  // Arbitrary text: nothing, or something that renders back to it.
  if (auto p = t.parse_id(id)) check_renders_back(t, *p, id);

  const std::string rendered = t.render(value, scope, at);
  std::optional<ParsedId> back = t.parse_id(rendered);
  if (!back) fail("a rendering of the template does not parse back", t.source(), rendered);
  check_renders_back(t, *back, rendered);
  if (back->period_key != t.period_key(back->at)) fail("period key is not the date's", rendered, back->period_key);
  // {YY} and {IY} alone read back as 20YY: the period is the rendered one when a
  // four-digit year is printed, or the date is well inside 2001..2098.
  const bool year_exact = has(t, Template::Kind::year4) || has(t, Template::Kind::fiscal_year) ||
                          has(t, Template::Kind::iso_year4) || (at.year >= 2001 && at.year <= 2098);
  if (!t.has_scope()) {
    // Everything around {seq} has a fixed width, so the number is determined.
    if (back->value != value) fail("parsed back a different number", rendered, std::to_string(back->value));
    if (year_exact && back->period_key != t.period_key(at))
      fail("parsed back a different period", rendered, back->period_key);
  }

  // Every reset the template accepts keeps IDs parseable into their own counter.
  for (Period p : {Period::none, Period::year, Period::fiscal_year, Period::month, Period::week, Period::day}) {
    Template r = t;
    try {
      r.set_reset(p);
    } catch (const Error& e) {
      if (std::string_view(e.sqlstate()) != "22023") fail("reset error with an unexpected SQLSTATE", e.sqlstate());
      if (t.identifies(p)) fail("reset refused a period the template identifies", t.source());
      continue;
    }
    std::optional<ParsedId> rb = r.parse_id(rendered);
    if (!rb) fail("a rendering does not parse back after a reset", t.source(), rendered);
    if (rb->period_key != r.period_key(rb->at)) fail("reset period key is not the date's", rendered, rb->period_key);
    if (year_exact && !t.has_scope() && rb->period_key != r.period_key(at))
      fail("parsed back a different period after a reset", rendered, rb->period_key);
  }
  return 0;
}
