// Unit tests of the template engine (docs/reference.md, "Templates").
#include "seqguard/core/template.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

using seqguard::core::Date;
using seqguard::core::date_from_unix_days;
using seqguard::core::Error;
using seqguard::core::ParsedId;
using seqguard::core::Period;
using seqguard::core::period_name;
using seqguard::core::Template;
using seqguard::core::unix_days_from_date;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

std::string render(const std::string& tpl, int64_t value, const std::string& scope = "",
                   Date at = Date{2026, 5, 1}) {
  return Template::parse(tpl).render(value, scope, at);
}

// --- rendering ------------------------------------------------------------------------

TEST(TemplateRender, SpecExamples) {
  EXPECT_EQ(render("ASM-{YYYY}-{seq:3}", 1, "", {2026, 5, 1}), "ASM-2026-001");
  EXPECT_EQ(render("ICCT-{seq:3}", 1), "ICCT-001");
  EXPECT_EQ(render("ICCT-{seq:3}", 1000), "ICCT-1000");
  EXPECT_EQ(render("INV/{YY}{MM}/{seq:5}", 1, "", {2026, 11, 23}), "INV/2611/00001");
  EXPECT_EQ(render("{scope}-{seq:4}", 1, "EU"), "EU-0001");
}

TEST(TemplateRender, SeqWithoutPadding) {
  EXPECT_EQ(render("{seq}", 0), "0");
  EXPECT_EQ(render("{seq}", 7), "7");
  EXPECT_EQ(render("{seq}", 42), "42");
  EXPECT_EQ(render("{seq}", 1234567890123), "1234567890123");
}

TEST(TemplateRender, SeqPaddingWidensAtBoundary) {
  EXPECT_EQ(render("{seq:3}", 0), "000");
  EXPECT_EQ(render("{seq:3}", 9), "009");
  EXPECT_EQ(render("{seq:3}", 99), "099");
  EXPECT_EQ(render("{seq:3}", 999), "999");
  EXPECT_EQ(render("{seq:3}", 1000), "1000");
  EXPECT_EQ(render("{seq:3}", 123456), "123456");
  EXPECT_EQ(render("{seq:1}", 0), "0");
  EXPECT_EQ(render("{seq:1}", 10), "10");
  EXPECT_EQ(render("{seq:18}", 1), "000000000000000001");
  EXPECT_EQ(render("{seq:18}", 999999999999999999), "999999999999999999");
  EXPECT_EQ(render("{seq:18}", 1000000000000000000), "1000000000000000000");
}

TEST(TemplateRender, NegativeAndExtremeValues) {
  EXPECT_EQ(render("{seq:3}", -5), "-005");
  EXPECT_EQ(render("{seq:3}", -999), "-999");
  EXPECT_EQ(render("{seq:3}", -1000), "-1000");
  EXPECT_EQ(render("{seq}", -1), "-1");
  EXPECT_EQ(render("X{seq}", kMin), "X-9223372036854775808");
  EXPECT_EQ(render("{seq:18}", kMin), "-9223372036854775808");
  EXPECT_EQ(render("{seq:3}", kMin + 1), "-9223372036854775807");
  EXPECT_EQ(render("{seq}", kMax), "9223372036854775807");
  EXPECT_EQ(render("{seq:18}", kMax), "9223372036854775807");
}

TEST(TemplateRender, DateTokens) {
  EXPECT_EQ(render("{YYYY}{seq}", 1, "", {2026, 5, 1}), "20261");
  EXPECT_EQ(render("{YYYY}-{seq}", 1, "", {7, 5, 1}), "0007-1");
  EXPECT_EQ(render("{YYYY}-{seq}", 1, "", {999, 5, 1}), "0999-1");
  EXPECT_EQ(render("{YYYY}-{seq}", 1, "", {9999, 12, 31}), "9999-1");
  EXPECT_EQ(render("{YY}-{seq}", 1, "", {2026, 5, 1}), "26-1");
  EXPECT_EQ(render("{YY}-{seq}", 1, "", {2007, 5, 1}), "07-1");
  EXPECT_EQ(render("{YY}-{seq}", 1, "", {1999, 5, 1}), "99-1");
  EXPECT_EQ(render("{YY}-{seq}", 1, "", {2000, 5, 1}), "00-1");
  EXPECT_EQ(render("{MM}-{seq}", 1, "", {2026, 5, 1}), "05-1");
  EXPECT_EQ(render("{MM}-{seq}", 1, "", {2026, 11, 1}), "11-1");
  EXPECT_EQ(render("{DD}-{seq}", 1, "", {2026, 5, 1}), "01-1");
  EXPECT_EQ(render("{DD}-{seq}", 1, "", {2026, 5, 23}), "23-1");
  EXPECT_EQ(render("{YYYY}{MM}{DD}{YY}-{seq:2}", 3, "", {2026, 2, 9}), "2026020926-03");
}

TEST(TemplateRender, Scope) {
  EXPECT_EQ(render("{scope}-{seq:4}", 12, "EU"), "EU-0012");
  EXPECT_EQ(render("{scope}-{seq:4}", 12, ""), "-0012");
  EXPECT_EQ(render("{scope}/{seq}/{scope}", 1, "ab"), "ab/1/ab");
  // Scope text is copied as is, braces included: it is data, not template.
  EXPECT_EQ(render("{scope}{seq}", 1, "{seq}"), "{seq}1");
}

TEST(TemplateRender, LiteralBraces) {
  EXPECT_EQ(render("{{{seq}}}", 42), "{42}");
  EXPECT_EQ(render("{{seq}}-{seq}", 7), "{seq}-7");
  EXPECT_EQ(render("}}{{{seq:2}", 7), "}{07");
  EXPECT_EQ(render("{{{{{seq}}}}}", 1), "{{1}}");
  EXPECT_EQ(render("a{{b}}c{seq}", 1), "a{b}c1");
}

TEST(TemplateRender, NonAsciiLiterals) {
  EXPECT_EQ(render("Fakt\xC3\xBAra-{seq:2}", 5), "Fakt\xC3\xBAra-05");
}

TEST(TemplateRender, RenderToAppends) {
  const Template t = Template::parse("ASM-{YYYY}-{seq:3}");
  std::string out = "prefix:";
  t.render_to(out, 1, "", {2026, 5, 1});
  EXPECT_EQ(out, "prefix:ASM-2026-001");
  t.render_to(out, 2, "", {2027, 5, 1});
  EXPECT_EQ(out, "prefix:ASM-2026-001ASM-2027-002");
  EXPECT_EQ(t.render(3, "", {2026, 1, 1}), "ASM-2026-003");
}

// One Template renders the text around {seq} and {scope} once per date and reuses it:
// every date, in any order, must still print as a Template parsed afresh prints it.
TEST(TemplateRender, ReusedTemplateFollowsEveryDateChange) {
  const char* const sources[] = {"INV/{YY}{MM}/{scope}/{seq:5}", "L{IY}{IW}-{seq:4}-{DDD}",
                                 "{FY:4}/{seq}/{YYYY}-{MM}-{DD}", "{scope}{seq:2}{scope}", "N-{seq}"};
  const Date dates[] = {{2026, 12, 31}, {2027, 1, 1}, {2026, 12, 31}, {2020, 12, 28}, {2021, 1, 3},
                        {2024, 2, 29},  {2024, 3, 1}, {2025, 3, 31},  {2025, 4, 1},  {2025, 4, 1}};
  for (const char* src : sources) {
    const Template reused = Template::parse(src);
    int64_t v = 0;
    for (const Date& d : dates) {
      for (const char* scope : {"EU", "", "APAC"}) {
        ++v;
        EXPECT_EQ(reused.render(v, scope, d), Template::parse(src).render(v, scope, d))
            << src << " on " << d.year << "-" << d.month << "-" << d.day << " scope " << scope;
      }
    }
  }
}

// --- structure and accessors -------------------------------------------------------------

TEST(TemplateParse, PartsAreCompiledAndLiteralsMerged) {
  const Template t = Template::parse("INV/{YY}{MM}/{seq:5}");
  EXPECT_EQ(t.source(), "INV/{YY}{MM}/{seq:5}");
  const auto& p = t.parts();
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(p[0].kind, Template::Kind::literal);
  EXPECT_EQ(p[0].text, "INV/");
  EXPECT_EQ(p[1].kind, Template::Kind::year2);
  EXPECT_EQ(p[2].kind, Template::Kind::month);
  EXPECT_EQ(p[3].kind, Template::Kind::literal);
  EXPECT_EQ(p[3].text, "/");
  EXPECT_EQ(p[4].kind, Template::Kind::seq);
  EXPECT_EQ(p[4].width, 5);

  const Template braces = Template::parse("a{{b}}c{seq}{scope}{DD}{YYYY}");
  ASSERT_EQ(braces.parts().size(), 5u);
  EXPECT_EQ(braces.parts()[0].text, "a{b}c");
  EXPECT_EQ(braces.parts()[1].width, 0);
  EXPECT_EQ(braces.parts()[2].kind, Template::Kind::scope);
  EXPECT_EQ(braces.parts()[3].kind, Template::Kind::day);
  EXPECT_EQ(braces.parts()[4].kind, Template::Kind::year4);
}

TEST(TemplateParse, SeqWidthAndHasScope) {
  EXPECT_EQ(Template::parse("{seq}").seq_width(), 0);
  EXPECT_EQ(Template::parse("A{seq:1}").seq_width(), 1);
  EXPECT_EQ(Template::parse("A{seq:9}B").seq_width(), 9);
  EXPECT_EQ(Template::parse("{seq:18}").seq_width(), 18);
  EXPECT_FALSE(Template::parse("{seq}").has_scope());
  EXPECT_FALSE(Template::parse("{{scope}}{seq}").has_scope());
  EXPECT_TRUE(Template::parse("{scope}{seq}").has_scope());
  EXPECT_TRUE(Template::parse("{seq}-{scope}").has_scope());
}

TEST(TemplateParse, DefaultConstructedTemplateIsUsable) {
  Template t;  // series.cpp holds one before parsing into it
  t = Template::parse("X{seq}");
  EXPECT_EQ(t.render(1, "", {2026, 1, 1}), "X1");
}

// --- overflow ---------------------------------------------------------------------------

TEST(TemplateOverflow, Boundaries) {
  const Template t3 = Template::parse("ICCT-{seq:3}");
  EXPECT_FALSE(t3.overflows(0));
  EXPECT_FALSE(t3.overflows(1));
  EXPECT_FALSE(t3.overflows(999));
  EXPECT_TRUE(t3.overflows(1000));
  EXPECT_FALSE(t3.overflows(-999));
  EXPECT_TRUE(t3.overflows(-1000));
  EXPECT_TRUE(t3.overflows(kMin));
  EXPECT_TRUE(t3.overflows(kMax));

  const Template t1 = Template::parse("{seq:1}");
  EXPECT_FALSE(t1.overflows(9));
  EXPECT_TRUE(t1.overflows(10));
  EXPECT_FALSE(t1.overflows(-9));

  const Template t18 = Template::parse("{seq:18}");
  EXPECT_FALSE(t18.overflows(999999999999999999));
  EXPECT_TRUE(t18.overflows(1000000000000000000));
  EXPECT_FALSE(t18.overflows(-999999999999999999));
  EXPECT_TRUE(t18.overflows(kMax));
  EXPECT_TRUE(t18.overflows(kMin));

  const Template t0 = Template::parse("{seq}");
  for (int64_t v : {int64_t{0}, int64_t{1000}, kMax, kMin}) EXPECT_FALSE(t0.overflows(v)) << v;
}

TEST(TemplateOverflow, AgreesWithRenderedLengthForEveryWidth) {
  for (int n = 1; n <= 18; ++n) {
    const Template t = Template::parse("{seq:" + std::to_string(n) + "}");
    int64_t p = 1;
    for (int d = 1; d <= 18; ++d, p *= 10) {
      for (int64_t v : {p - 1, p, p + 1, -(p - 1), -p, 10 * p - 1}) {
        const std::string s = t.render(v, "", {2026, 1, 1});
        const size_t digits = s.size() - (v < 0 ? 1 : 0);
        EXPECT_EQ(t.overflows(v), digits > static_cast<size_t>(n)) << "n=" << n << " v=" << v;
        EXPECT_GE(digits, static_cast<size_t>(n));
      }
    }
  }
}

// --- periods ----------------------------------------------------------------------------

TEST(TemplatePeriod, FinestPrintedUnitWins) {
  struct Case {
    const char* tpl;
    Period period;
    const char* key;  // at 2026-11-23
  };
  const Case cases[] = {
      {"{seq}", Period::none, ""},
      {"{scope}-{seq}", Period::none, ""},
      {"{{YYYY}}{seq}", Period::none, ""},
      {"ASM-{YYYY}-{seq:3}", Period::year, "2026"},
      {"{YY}{seq}", Period::year, "2026"},
      {"{MM}{YYYY}{seq}", Period::month, "2026-11"},
      {"INV/{YY}{MM}/{seq:5}", Period::month, "2026-11"},
      // Without a year, {MM} and {DD} are decoration; {DD} without {MM} as well.
      {"{MM}-{seq}", Period::none, ""},
      {"{DD}{seq}", Period::none, ""},
      {"{YYYY}{DD}{MM}{seq}", Period::day, "2026-11-23"},
      {"{seq}{DD}{YY}", Period::year, "2026"},
  };
  for (const Case& c : cases) {
    const Template t = Template::parse(c.tpl);
    EXPECT_EQ(t.period(), c.period) << c.tpl;
    EXPECT_EQ(t.period_key({2026, 11, 23}), c.key) << c.tpl;
  }
}

TEST(TemplatePeriod, KeysArePaddedAndSortInTimeOrder) {
  EXPECT_EQ(Template::parse("{YY}{seq}").period_key({7, 1, 2}), "0007");
  EXPECT_EQ(Template::parse("{YY}{MM}{seq}").period_key({7, 1, 2}), "0007-01");
  EXPECT_EQ(Template::parse("{YY}{MM}{DD}{seq}").period_key({7, 1, 2}), "0007-01-02");
  const Template t = Template::parse("{YY}{MM}{DD}{seq}");
  std::string prev;
  for (int64_t d = unix_days_from_date({1, 1, 1}); d <= unix_days_from_date({9999, 12, 31}); d += 997) {
    const std::string key = t.period_key(date_from_unix_days(d));
    EXPECT_LT(prev, key);
    prev = key;
  }
}

TEST(TemplatePeriod, Names) {
  EXPECT_STREQ(period_name(Period::none), "none");
  EXPECT_STREQ(period_name(Period::year), "year");
  EXPECT_STREQ(period_name(Period::month), "month");
  EXPECT_STREQ(period_name(Period::day), "day");
}

// --- errors -----------------------------------------------------------------------------

// Returns the error message, failing the test unless parse throws 22023.
std::string parse_error(const std::string& tpl) {
  try {
    Template::parse(tpl);
  } catch (const Error& e) {
    EXPECT_STREQ(e.sqlstate(), "22023") << tpl;
    return e.what();
  }
  ADD_FAILURE() << "no error for template \"" << tpl << "\"";
  return {};
}

TEST(TemplateErrors, SpecMessages) {
  EXPECT_EQ(parse_error("ASM-{foo}-{seq}"), "invalid template \"ASM-{foo}-{seq}\": unknown token \"{foo}\" at position 5");
  EXPECT_EQ(parse_error("ASM-{YYYY}"), "template \"ASM-{YYYY}\" has no {seq} token");
}

TEST(TemplateErrors, BadTokensNamePositionAndToken) {
  struct Case {
    const char* tpl;
    int position;
    const char* token;
  };
  const Case cases[] = {
      {"ASM-{foo}-{seq}", 5, "\"{foo}\""},
      {"{seq:0}", 1, "\"{seq:0}\""},
      {"A{seq:19}", 2, "\"{seq:19}\""},
      {"AB{seq:x}", 3, "\"{seq:x}\""},
      {"{seq:}", 1, "\"{seq:}\""},
      {"{seq:-1}", 1, "\"{seq:-1}\""},
      {"{seq:03}", 1, "\"{seq:03}\""},
      {"{seq:3 }", 1, "\"{seq:3 }\""},
      {"{seq:100}", 1, "\"{seq:100}\""},
      {"{seq:99999999999999999999}", 1, "\"{seq:99999999999999999999}\""},
      {"{ seq}", 1, "\"{ seq}\""},
      {"{Seq}", 1, "\"{Seq}\""},
      {"{seq}-{yyyy}", 7, "\"{yyyy}\""},
      {"{seq}{mm}", 6, "\"{mm}\""},
      {"{seq}{Scope}", 6, "\"{Scope}\""},
      {"{seq}{Y}", 6, "\"{Y}\""},
      {"{seq}{}", 6, "\"{}\""},
      {"{seq}{{{x}", 8, "\"{x}\""},
      {"ASM-{YYYY", 5, "\"{YYYY\""},
      {"{seq}-{", 7, "\"{\""},
      {"{seq}{a{b}", 6, "\"{a{b}\""},
      {"A}B{seq}", 2, "\"}\""},
      {"{seq}}", 6, "\"}\""},
      {"}}}{seq}", 3, "\"}\""},
      {"}", 1, "\"}\""},
      {"{seq}-{seq}", 7, "\"{seq}\""},
      {"{seq}{seq:2}", 6, "\"{seq:2}\""},
      {"A{seq:3}B{seq:3}", 10, "\"{seq:3}\""},
      // Positions count characters: "é" is two bytes but one position.
      {"\xC3\xA9-{foo}-{seq}", 3, "\"{foo}\""},
  };
  for (const Case& c : cases) {
    const std::string msg = parse_error(c.tpl);
    EXPECT_NE(msg.find("at position " + std::to_string(c.position)), std::string::npos) << c.tpl << ": " << msg;
    EXPECT_NE(msg.find(c.token), std::string::npos) << c.tpl << ": " << msg;
    EXPECT_NE(msg.find(std::string("\"") + c.tpl + "\""), std::string::npos) << c.tpl << ": " << msg;
  }
}

TEST(TemplateErrors, MissingSeqAndEmpty) {
  for (const char* tpl : {"ASM-{YYYY}", "{{seq}}", "plain", "{scope}{MM}"}) {
    EXPECT_EQ(parse_error(tpl), std::string("template \"") + tpl + "\" has no {seq} token");
  }
  EXPECT_NE(parse_error("").find("empty"), std::string::npos);
}

TEST(TemplateErrors, FirstBadTokenIsReported) {
  const std::string msg = parse_error("{foo}{bar}");
  EXPECT_NE(msg.find("\"{foo}\" at position 1"), std::string::npos) << msg;
}

TEST(TemplateErrors, ErrorCarriesHintAndIsARuntimeError) {
  try {
    Template::parse("{foo}{seq}");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    const auto* err = dynamic_cast<const Error*>(&e);
    ASSERT_NE(err, nullptr);
    EXPECT_NE(err->hint().find("{seq:N}"), std::string::npos);
  }
}

// --- parse_id ---------------------------------------------------------------------------

std::optional<ParsedId> parse_id(const std::string& tpl, const std::string& id) {
  return Template::parse(tpl).parse_id(id);
}

void expect_id(const std::string& tpl, const std::string& id, const std::string& scope, const std::string& key,
               int64_t value) {
  const auto p = parse_id(tpl, id);
  ASSERT_TRUE(p.has_value()) << tpl << " / " << id;
  EXPECT_EQ(p->scope, scope) << tpl << " / " << id;
  EXPECT_EQ(p->period_key, key) << tpl << " / " << id;
  EXPECT_EQ(p->value, value) << tpl << " / " << id;
}

void expect_no_id(const std::string& tpl, const std::string& id) {
  EXPECT_FALSE(parse_id(tpl, id).has_value()) << tpl << " / " << id;
}

TEST(TemplateParseId, SpecExamples) {
  expect_id("ASM-{YYYY}-{seq:3}", "ASM-2026-001", "", "2026", 1);
  expect_id("ICCT-{seq:3}", "ICCT-001", "", "", 1);
  expect_id("ICCT-{seq:3}", "ICCT-012", "", "", 12);
  expect_id("ICCT-{seq:3}", "ICCT-1000", "", "", 1000);
  expect_id("INV/{YY}{MM}/{seq:5}", "INV/2611/00001", "", "2026-11", 1);
  expect_id("{scope}-{seq:4}", "EU-0001", "EU", "", 1);
}

TEST(TemplateParseId, OnlyCanonicalNumbers) {
  expect_no_id("ICCT-{seq:3}", "ICCT-0012");
  expect_no_id("ICCT-{seq:3}", "ICCT-01000");
  expect_no_id("ICCT-{seq:3}", "ICCT-12");
  expect_no_id("ICCT-{seq:3}", "ICCT-");
  expect_no_id("ICCT-{seq:3}", "ICCT-+012");
  expect_no_id("ICCT-{seq:3}", "ICCT- 12");
  expect_id("ICCT-{seq:3}", "ICCT-000", "", "", 0);
  expect_no_id("ICCT-{seq:3}", "ICCT--000");  // zero has no sign
  expect_id("{seq}", "0", "", "", 0);
  expect_no_id("{seq}", "00");
  expect_no_id("{seq}", "07");
  expect_no_id("{seq}", "-0");
  expect_no_id("{seq}", "-");
  expect_no_id("{seq}", "");
  expect_no_id("{seq}", "--1");
  expect_id("{seq}", "-1", "", "", -1);
  expect_id("ICCT-{seq:3}", "ICCT--005", "", "", -5);
  expect_no_id("ICCT-{seq:3}", "ICCT--05");
  expect_no_id("ICCT-{seq:3}", "ICCT--0005");
  expect_id("ICCT-{seq:3}", "ICCT--1000", "", "", -1000);
}

TEST(TemplateParseId, Int64Range) {
  expect_id("{seq}", "9223372036854775807", "", "", kMax);
  expect_no_id("{seq}", "9223372036854775808");
  expect_id("{seq:18}", "-9223372036854775808", "", "", kMin);
  expect_no_id("{seq}", "-9223372036854775809");
  expect_no_id("{seq}", "18446744073709551616");
  expect_no_id("{seq}", "99999999999999999999");
  expect_no_id("{seq}", "123456789012345678901234567890");
  // A long digit run can still end in digit literals.
  expect_id("{seq}00000000000", "100000000000000000000", "", "", 1000000000);
}

TEST(TemplateParseId, WrongLiterals) {
  expect_no_id("ICCT-{seq:3}", "ICXT-001");
  expect_no_id("ICCT-{seq:3}", "icct-001");
  expect_no_id("ICCT-{seq:3}", "ICCT-001x");
  expect_no_id("ICCT-{seq:3}", "xICCT-001");
  expect_no_id("ICCT-{seq:3}", "ICCT001");
  expect_no_id("ICCT-{seq:3}", "");
  expect_id("{{{seq}}}", "{42}", "", "", 42);
  expect_no_id("{{{seq}}}", "{{42}}");
}

TEST(TemplateParseId, DateTokens) {
  expect_no_id("INV/{YY}{MM}/{seq:5}", "INV/2613/00001");
  expect_no_id("INV/{YY}{MM}/{seq:5}", "INV/2600/00001");
  expect_no_id("INV/{YY}{MM}/{seq:5}", "INV/261/00001");
  expect_no_id("INV/{YY}{MM}/{seq:5}", "INV/2x11/00001");
  expect_id("INV/{YY}{MM}/{seq:5}", "INV/9912/00001", "", "2099-12", 1);
  expect_id("INV/{YY}{MM}/{seq:5}", "INV/0001/00001", "", "2000-01", 1);
  expect_no_id("ASM-{YYYY}-{seq:3}", "ASM-0000-001");
  expect_no_id("ASM-{YYYY}-{seq:3}", "ASM-202-001");
  expect_no_id("ASM-{YYYY}-{seq:3}", "ASM-20260-001");
  expect_id("ASM-{YYYY}-{seq:3}", "ASM-0007-001", "", "0007", 1);
  expect_id("ASM-{YYYY}-{seq:3}", "ASM-9999-001", "", "9999", 1);

  const std::string daily = "{YYYY}{MM}{DD}-{seq}";
  expect_id(daily, "20261123-1", "", "2026-11-23", 1);
  expect_id(daily, "20240229-1", "", "2024-02-29", 1);
  expect_id(daily, "20000229-1", "", "2000-02-29", 1);
  expect_no_id(daily, "20250229-1");
  expect_no_id(daily, "19000229-1");
  expect_no_id(daily, "21000229-1");
  expect_no_id(daily, "20260230-1");
  expect_no_id(daily, "20260431-1");
  expect_no_id(daily, "20260100-1");
  expect_no_id(daily, "20260132-1");
  expect_id(daily, "20260131-1", "", "2026-01-31", 1);
  expect_id("{YY}{MM}{DD}-{seq}", "960229-1", "", "2096-02-29", 1);
}

TEST(TemplateParseId, RepeatedDateTokensMustAgree) {
  expect_id("{YYYY}/{YYYY}-{seq}", "2026/2026-1", "", "2026", 1);
  expect_no_id("{YYYY}/{YYYY}-{seq}", "2026/2025-1");
  expect_id("{YYYY}/{YY}-{seq}", "1987/87-1", "", "1987", 1);
  expect_no_id("{YYYY}/{YY}-{seq}", "1987/88-1");
  expect_id("{YY}/{YYYY}-{seq}", "87/1987-1", "", "1987", 1);
  expect_no_id("{YY}/{YYYY}-{seq}", "88/1987-1");
  expect_no_id("{YYYY}{MM}/{MM}-{seq}", "202601/02-1");
  expect_no_id("{YYYY}{MM}{DD}/{DD}-{seq}", "20260101/02-1");
  expect_id("{YYYY}{MM}{DD}/{DD}-{seq}", "20260102/02-1", "", "2026-01-02", 1);
}

TEST(TemplateParseId, DecorationTokensNameNoPeriod) {
  expect_id("{MM}-{seq}", "11-1", "", "", 1);
  expect_id("{DD}-{seq}", "23-1", "", "", 1);
  expect_id("{YYYY}{DD}-{seq}", "202623-1", "", "2026", 1);
  expect_id("{MM}{DD}-{seq}", "1123-1", "", "", 1);
  expect_id("{YY}{DD}-{seq}", "2623-1", "", "2026", 1);
  expect_id("{YY}-{seq}", "26-1", "", "2026", 1);
  expect_id("{YY}{MM}-{seq}", "2611-1", "", "2026-11", 1);
}

TEST(TemplateParseId, Scopes) {
  expect_id("{scope}-{seq:4}", "EU-0001", "EU", "", 1);
  expect_id("{scope}-{seq:4}", "-0001", "", "", 1);
  expect_id("{scope}-{seq:4}", "A-B-0001", "A-B", "", 1);
  expect_id("{scope}-{seq:4}", "EU--0001", "EU", "", -1);
  expect_no_id("{scope}-{seq:4}", "EU-001");
  expect_id("{seq}{scope}", "12EU", "EU", "", 12);
  expect_id("{seq}-{scope}", "12-", "", "", 12);
  expect_id("{scope}{seq}", "EU12", "EU", "", 12);
  expect_id("{scope}/{scope}/{seq}", "EU/EU/1", "EU", "", 1);
  expect_no_id("{scope}/{scope}/{seq}", "EU/US/1");
}

TEST(TemplateParseId, LongNonMatchingTextIsCheap) {
  const Template t = Template::parse("{scope}-{seq:3}/{YYYY}");
  std::string junk;
  for (int i = 0; i < 20000; ++i) junk += "a-1/";
  EXPECT_FALSE(t.parse_id(junk).has_value());
  const auto p = t.parse_id(junk + "x-001/2026");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->scope, junk + "x");
  EXPECT_EQ(p->value, 1);
}

// --- generated round trips --------------------------------------------------------------

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Whether an ID of `t`, rendered with a letters-only scope, has exactly one reading under
// parse_id's tie-break (shortest scope): every {scope} ends where a non-letter literal
// (or the end) starts, and is not fed by a {seq} digit run it could eat into.
bool scope_is_delimited(const Template& t) {
  const auto& parts = t.parts();
  bool seq_open = false;  // a {seq} whose digit run is not yet closed by a non-digit literal
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& p = parts[i];
    if (p.kind == Template::Kind::seq) seq_open = true;
    if (p.kind == Template::Kind::literal) {
      for (char c : p.text) seq_open = seq_open && c >= '0' && c <= '9';
    }
    if (p.kind != Template::Kind::scope) continue;
    if (seq_open) return false;
    if (i + 1 == parts.size()) continue;
    const auto& next = parts[i + 1];
    if (next.kind != Template::Kind::literal || is_letter(next.text[0])) return false;
  }
  return true;
}

TEST(TemplateParseId, GeneratedRoundTrips) {
  std::mt19937 rng(20260501);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::vector<std::string> pieces = {
      "-", "/", "INV", "{{", "}}", "1", "07", "x", ".", "|", "\xC3\xA9", "--", "0",
      "{YYYY}", "{YY}", "{MM}", "{DD}", "{scope}", "{scope}", "{YYYY}", "{MM}",
      "{FY:4}", "{IYYY}", "{IY}", "{IW}", "{DDD}"};
  const std::string letters = "ABCxyz";
  const std::string anything = "AB01-/{}.|x";
  const int64_t first_day = unix_days_from_date({1, 1, 1});
  const int64_t last_day = unix_days_from_date({9999, 12, 31});
  const int64_t first_2000 = unix_days_from_date({2000, 1, 1});
  const int64_t last_2099 = unix_days_from_date({2099, 12, 31});

  int parsed = 0, exact = 0;
  for (int iter = 0; iter < 6000; ++iter) {
    std::vector<std::string> toks;
    const int n = pick(6);
    for (int i = 0; i < n; ++i) toks.push_back(pieces[pick(static_cast<int>(pieces.size()))]);
    const int width = pick(4) == 0 ? 0 : 1 + pick(18);
    const std::string seq = width == 0 ? "{seq}" : "{seq:" + std::to_string(width) + "}";
    toks.insert(toks.begin() + pick(n + 1), seq);
    std::string src;
    for (const auto& s : toks) src += s;

    const Template t = Template::parse(src);
    ASSERT_EQ(t.seq_width(), width) << src;

    int64_t value;
    switch (pick(6)) {
      case 0: value = pick(1500); break;
      case 1: value = -pick(1500); break;
      case 2: value = static_cast<int64_t>((uint64_t{rng()} << 32) | rng()); break;
      case 3: value = pick(2) ? kMin : kMax; break;
      case 4: {
        int64_t p = 1;
        for (int e = pick(19); e > 0; --e) p *= 10;
        value = p - 1 + pick(3);
        if (pick(2)) value = -value;
        break;
      }
      default: value = pick(100000000); break;
    }
    const bool plain_scope = pick(3) != 0;
    std::string scope;
    for (int len = pick(5); len > 0; --len) {
      scope += plain_scope ? letters[pick(static_cast<int>(letters.size()))]
                           : anything[pick(static_cast<int>(anything.size()))];
    }
    const int64_t day = pick(2) ? first_2000 + static_cast<int64_t>(rng() % (last_2099 - first_2000 + 1))
                                : first_day + static_cast<int64_t>(rng() % (last_day - first_day + 1));
    const Date at = date_from_unix_days(day);

    const std::string id = t.render(value, scope, at);
    const auto p = t.parse_id(id);

    // With a four-digit year token, or a date whose two-digit years read as 20YY, the
    // period read back is the one rendered.
    bool year4 = false;
    for (const auto& part : t.parts()) {
      year4 |= part.kind == Template::Kind::year4 || part.kind == Template::Kind::fiscal_year ||
               part.kind == Template::Kind::iso_year4;
    }
    const bool year_exact = year4 || (at.year >= 2001 && at.year <= 2098);
    ASSERT_TRUE(p.has_value()) << src << " / " << id;
    ++parsed;
    // Whatever reading was chosen must be one that renders to the same text.
    EXPECT_EQ(t.render(p->value, p->scope, p->at), id) << src;
    EXPECT_EQ(t.has_scope() || p->scope.empty(), true) << src;

    if (!t.has_scope() || (plain_scope && scope_is_delimited(t))) {
      ++exact;
      EXPECT_EQ(p->value, value) << src << " / " << id;
      EXPECT_EQ(p->scope, t.has_scope() ? scope : "") << src << " / " << id;
      if (year_exact) {
        EXPECT_EQ(p->period_key, t.period_key(at)) << src << " / " << id;
      }
    }
  }
  // The generator must exercise every branch, not just the easy one.
  EXPECT_GT(parsed, 3000);
  EXPECT_GT(exact, 2000);
  EXPECT_GT(parsed - exact, 300);
}

// --- date conversions -------------------------------------------------------------------

TEST(TemplateDates, KnownDays) {
  EXPECT_EQ(unix_days_from_date({1970, 1, 1}), 0);
  EXPECT_EQ(unix_days_from_date({1969, 12, 31}), -1);
  EXPECT_EQ(unix_days_from_date({2000, 1, 1}), 10957);  // PostgreSQL's date epoch
  EXPECT_EQ(unix_days_from_date({1, 1, 1}), -719162);
  EXPECT_EQ(unix_days_from_date({9999, 12, 31}), 2932896);
  EXPECT_EQ(unix_days_from_date({2026, 5, 1}), 20574);
  EXPECT_EQ(unix_days_from_date({2000, 3, 1}) - unix_days_from_date({2000, 2, 28}), 2);
  EXPECT_EQ(unix_days_from_date({1900, 3, 1}) - unix_days_from_date({1900, 2, 28}), 1);
  EXPECT_EQ(unix_days_from_date({2100, 3, 1}) - unix_days_from_date({2100, 2, 28}), 1);
  EXPECT_EQ(unix_days_from_date({2024, 3, 1}) - unix_days_from_date({2024, 2, 28}), 2);
  const Date leap = date_from_unix_days(unix_days_from_date({2000, 2, 29}));
  EXPECT_EQ(leap.year, 2000);
  EXPECT_EQ(leap.month, 2);
  EXPECT_EQ(leap.day, 29);
}

// Walks every day from 0001-01-01 to 9999-12-31 with an independent calendar and
// checks both conversions against it.
TEST(TemplateDates, EveryDayRoundTrips) {
  auto leap = [](int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; };
  const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  Date d{1, 1, 1};
  int64_t n = -719162;
  int64_t mismatches = 0;
  for (; d.year <= 9999; ++n) {
    const Date c = date_from_unix_days(n);
    if (c.year != d.year || c.month != d.month || c.day != d.day || unix_days_from_date(d) != n) {
      if (++mismatches <= 5) {
        ADD_FAILURE() << n << ": expected " << d.year << "-" << d.month << "-" << d.day << ", got " << c.year
                      << "-" << c.month << "-" << c.day;
      }
    }
    const int len = d.month == 2 && leap(d.year) ? 29 : month_days[d.month - 1];
    if (++d.day > len) {
      d.day = 1;
      if (++d.month > 12) {
        d.month = 1;
        ++d.year;
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(n, 2932897);
}

TEST(TemplateDates, ExtremeInputsDoNotOverflow) {
  // Only has to be free of undefined behaviour (the sanitizer build checks that).
  (void)date_from_unix_days(std::numeric_limits<int64_t>::max());
  (void)date_from_unix_days(std::numeric_limits<int64_t>::min());
  const Date before = date_from_unix_days(-719163);
  EXPECT_EQ(before.year, 0);
  EXPECT_EQ(before.month, 12);
  EXPECT_EQ(before.day, 31);
}

}  // namespace
