#include "core/json_text.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace vigil {
namespace {

std::string Str(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

TEST(JsonText, EscapesAndRoundTrips) {
  const std::string raw = "a\"b\\c\n\t\x01 é € 𝄞";
  std::string text = Str(raw);
  EXPECT_EQ(nlohmann::json::parse(text).get<std::string>(), raw);
  EXPECT_EQ(Str("\x7f"), "\"\\u007f\"");
}

TEST(JsonText, InvalidUtf8BecomesReplacementCharacter) {
  struct Case {
    std::string in, want;
  } cases[] = {
      {"ok\xff", "ok\xEF\xBF\xBD"},                         // invalid byte
      {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},              // overlong '/'
      {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},  // surrogate half
      {"\xE2\x82", "\xEF\xBF\xBD\xEF\xBF\xBD"},              // truncated sequence
      {"\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},  // > U+10FFFF
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(IsValidUtf8(c.in));
    std::string text = Str(c.in);
    ASSERT_NO_THROW(nlohmann::json::parse(text)) << text;
    EXPECT_EQ(nlohmann::json::parse(text).get<std::string>(), c.want);
  }
  EXPECT_TRUE(IsValidUtf8("plain ascii é"));
}

TEST(JsonText, NumbersRoundTripAndNonFiniteIsNull) {
  for (double v : {0.0, -1.5, 0.1, 1e-300, 123456789.125, 3.4028234663852886e38}) {
    std::string s;
    AppendJsonNumber(&s, v);
    EXPECT_EQ(nlohmann::json::parse(s).get<double>(), v) << s;
  }
  std::string s;
  AppendJsonNumber(&s, std::nan(""));
  EXPECT_EQ(s, "null");
}

}  // namespace
}  // namespace vigil
