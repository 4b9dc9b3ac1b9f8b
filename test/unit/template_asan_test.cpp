// Hostile input for the template engine, written for the AddressSanitizer/UBSan build
// (scripts/test builds the unit tests a second time with -DSEQGUARD_SANITIZE=ON): byte
// strings cut at every position, embedded NULs, broken UTF-8, megabyte templates and
// IDs, extreme numbers and dates. In the plain build they are ordinary tests; under the
// sanitizers a read past a buffer or a signed overflow anywhere on these paths aborts.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "seqguard/core/error.hpp"
#include "seqguard/core/template.hpp"

namespace {

using seqguard::core::Date;
using seqguard::core::date_from_unix_days;
using seqguard::core::Error;
using seqguard::core::Template;
using seqguard::core::unix_days_from_date;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// Parses `source`; returns true when it parsed, false when it raised 22023, and fails
// the test on anything else.
bool parses(std::string_view source) {
  try {
    Template::parse(source);
    return true;
  } catch (const Error& e) {
    EXPECT_STREQ(e.sqlstate(), "22023") << "for [" << source << "]";
    EXPECT_NE(std::string(e.what()), "") << "for [" << source << "]";
    return false;
  }
}

TEST(TemplateHostile, EveryPrefixParsesOrRaises22023) {
  const std::string full = "ASM/{{x}}-{YYYY}{YY}{MM}{DD}-{scope}-{seq:18}}}{{";
  int ok = 0;
  for (std::size_t n = 0; n <= full.size(); n++) {
    // A copy of exactly n bytes, so that ASan sees a read past the prefix.
    std::string prefix = full.substr(0, n);
    ok += parses(std::string_view(prefix.data(), prefix.size()));
  }
  EXPECT_GT(ok, 0);
  EXPECT_TRUE(parses(full));
}

TEST(TemplateHostile, UnfinishedTokensAtTheEnd) {
  for (const char* s : {"{", "}", "{seq", "{seq:", "{seq:1", "{seq}{", "{seq}}", "{seq}{{{", "{seq:}",
                        "{seq:0}", "{seq:01}", "{seq:19}", "{seq:-1}", "{seq:+1}", "{seq: 1}", "{seq:99999999999}",
                        "{}", "{{}", "{seq}{}", "{SEQ}", "{seq}{seq}"}) {
    EXPECT_FALSE(parses(s)) << s;
  }
}

TEST(TemplateHostile, EmbeddedNulBytes) {
  using namespace std::string_literals;
  const std::string source = "A\0B-{seq:3}-\0"s;
  Template t = Template::parse(source);
  EXPECT_EQ(t.source(), source);
  const std::string scope = "\0\0"s;
  std::string id = t.render(7, scope, Date{2026, 1, 1});
  EXPECT_EQ(id, "A\0B-007-\0"s);
  auto back = t.parse_id(id);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->value, 7);
  EXPECT_FALSE(parses("{se\0q}"s));
  EXPECT_FALSE(t.parse_id("A\0B-007-"s).has_value());

  Template s = Template::parse("{scope}/{seq}");
  auto p = s.parse_id("a\0b/12"s);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->scope, "a\0b"s);
  EXPECT_EQ(p->value, 12);
}

TEST(TemplateHostile, BrokenUtf8InErrorPositions) {
  // Continuation bytes without a lead byte, a lead byte cut off at the end, overlong forms.
  for (std::string s : {std::string("\x80\x80{bad}"), std::string("\xc3{bad}"), std::string("{bad}\xe2\x82"),
                        std::string("\xf0\x9f\x98{seq}{x"), std::string("\xc0\xaf{seq}}")}) {
    try {
      Template::parse(s);
      ADD_FAILURE() << "parsed: " << s;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("position"), std::string::npos) << e.what();
    }
  }
}

TEST(TemplateHostile, MegabyteTemplateAndId) {
  const std::string lit(1 << 20, 'x');
  Template t = Template::parse(lit + "{seq:5}" + lit);
  std::string id = t.render(42, "", Date{2026, 1, 1});
  EXPECT_EQ(id.size(), 2 * lit.size() + 5);
  auto back = t.parse_id(id);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->value, 42);
  EXPECT_FALSE(t.parse_id(id.substr(0, id.size() - 1)).has_value());
  // A bad token at the end of a long template: the position counts every character.
  try {
    Template::parse(lit + "{seq}{nope}");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("position " + std::to_string(lit.size() + 6)), std::string::npos);
  }
}

// 5,000 parts. parse_id recurses once per part; optimised builds turn those calls into
// jumps, but sanitizer and -O0 builds do not, and there some tens of thousands of parts
// exhaust an 8 MB stack. So this size is what every build must take.
TEST(TemplateHostile, ManyTokens) {
  std::string source;
  for (int i = 0; i < 1000; i++) source += "{YYYY}{{{MM}}}{DD}{scope}";
  source += "{seq:18}";
  Template t = Template::parse(source);
  const Date at{2026, 11, 23};
  std::string id = t.render(kMax, "EU", at);
  auto back = t.parse_id(id);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->value, kMax);
  EXPECT_EQ(back->scope, "EU");
  EXPECT_EQ(back->period_key, "2026-11-23");
  // One year digit changed in the middle: the repeated tokens no longer agree.
  std::string bad = id;
  bad[id.size() / 2 - (id.size() / 2) % 8] ^= 1;
  auto b = t.parse_id(bad);
  if (b) {
    EXPECT_EQ(t.render(b->value, b->scope, Date{2026, 11, 23}), bad);
  }
}

TEST(TemplateHostile, ExtremeNumbersEveryWidth) {
  for (int w = 0; w <= 18; w++) {
    Template t = Template::parse(w == 0 ? std::string("N{seq}N") : "N{seq:" + std::to_string(w) + "}N");
    for (int64_t v : {kMin, kMin + 1, int64_t{-1}, int64_t{0}, int64_t{1}, kMax - 1, kMax}) {
      std::string id = t.render(v, "", Date{1, 1, 1});
      auto back = t.parse_id(id);
      ASSERT_TRUE(back.has_value()) << id;
      EXPECT_EQ(back->value, v) << id;
      EXPECT_EQ(t.overflows(v), w > 0 && id.size() - 2 - (v < 0) > static_cast<std::size_t>(w)) << id;
    }
  }
}

TEST(TemplateHostile, NumbersBeyondInt64AreNotIds) {
  Template t = Template::parse("N{seq}");
  for (const char* id : {"N9223372036854775808", "N-9223372036854775809", "N99999999999999999999",
                         "N-", "N--1", "N", "", "N-0", "N00", "N+1", "N 1"}) {
    EXPECT_FALSE(t.parse_id(id).has_value()) << id;
  }
}

TEST(TemplateHostile, ExtremeDates) {
  for (int64_t d : {kMin, kMin + 1, -(int64_t{1} << 40), int64_t{-719162}, int64_t{2932896}, int64_t{1} << 40,
                    kMax - 1, kMax}) {
    Date at = date_from_unix_days(d);
    EXPECT_GE(at.month, 1);
    EXPECT_LE(at.month, 12);
    EXPECT_GE(at.day, 1);
    EXPECT_LE(at.day, 31);
    // Rendering whatever date came out must not overflow or read out of bounds either.
    std::string id = Template::parse("{YYYY}{YY}{MM}{DD}{seq}").render(1, "", at);
    EXPECT_FALSE(id.empty());
    (void)unix_days_from_date(at);
  }
  EXPECT_EQ(unix_days_from_date(date_from_unix_days(2932896)), 2932896);
  EXPECT_EQ(unix_days_from_date(date_from_unix_days(-719162)), -719162);
}

}  // namespace
