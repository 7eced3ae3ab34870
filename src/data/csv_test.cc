#include "data/csv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace vigil {
namespace {

struct Record {
  size_t line;
  std::vector<std::string> fields;
  bool operator==(const Record& o) const { return line == o.line && fields == o.fields; }
};

std::ostream& operator<<(std::ostream& os, const Record& r) {
  os << r.line << ":";
  for (const auto& f : r.fields) os << "[" << f << "]";
  return os;
}

Status Parse(std::string_view text, std::vector<Record>* out, char delimiter = ',') {
  out->clear();
  return ParseCsv(text, "t.csv", CsvOptions{delimiter},
                  [&](size_t line, const std::vector<std::string_view>& fields) {
                    Record r{line, {}};
                    for (auto f : fields) r.fields.emplace_back(f);
                    out->push_back(std::move(r));
                    return Status::Ok();
                  });
}

std::vector<Record> MustParse(std::string_view text, char delimiter = ',') {
  std::vector<Record> out;
  Status s = Parse(text, &out, delimiter);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

TEST(CsvTest, SimpleRecordsAndLineNumbers) {
  EXPECT_EQ(MustParse("a,b,c\n1,2,3\n"),
            (std::vector<Record>{{1, {"a", "b", "c"}}, {2, {"1", "2", "3"}}}));
}

TEST(CsvTest, LineEndsLfCrlfLoneCrAndMixed) {
  std::vector<Record> want{{1, {"a", "b"}}, {2, {"c", "d"}}, {3, {"e", ""}}};
  EXPECT_EQ(MustParse("a,b\nc,d\ne,\n"), want);
  EXPECT_EQ(MustParse("a,b\r\nc,d\r\ne,\r\n"), want);
  EXPECT_EQ(MustParse("a,b\rc,d\re,\r"), want);
  EXPECT_EQ(MustParse("a,b\r\nc,d\re,\n"), want);
}

TEST(CsvTest, ByteOrderMarkIsSkipped) {
  EXPECT_EQ(MustParse("\xEF\xBB\xBFid,x\n1,2\n"),
            (std::vector<Record>{{1, {"id", "x"}}, {2, {"1", "2"}}}));
}

TEST(CsvTest, EmptyLinesSkippedButCounted) {
  EXPECT_EQ(MustParse("\n\na\n\r\n\rb\n\n"), (std::vector<Record>{{3, {"a"}}, {6, {"b"}}}));
  EXPECT_TRUE(MustParse("").empty());
  EXPECT_TRUE(MustParse("\n\r\n").empty());
}

TEST(CsvTest, MissingFinalNewline) {
  EXPECT_EQ(MustParse("a,b\nc,d"), (std::vector<Record>{{1, {"a", "b"}}, {2, {"c", "d"}}}));
  EXPECT_EQ(MustParse("a,"), (std::vector<Record>{{1, {"a", ""}}}));
  EXPECT_EQ(MustParse("\"q\""), (std::vector<Record>{{1, {"q"}}}));
}

TEST(CsvTest, EmptyFields) {
  EXPECT_EQ(MustParse(",,\n"), (std::vector<Record>{{1, {"", "", ""}}}));
  EXPECT_EQ(MustParse("\"\",x\n"), (std::vector<Record>{{1, {"", "x"}}}));
}

TEST(CsvTest, QuotedFields) {
  EXPECT_EQ(MustParse("\"a,b\",c\n"), (std::vector<Record>{{1, {"a,b", "c"}}}));
  EXPECT_EQ(MustParse("x,\"say \"\"hi\"\"\",\"\"\"\"\n"),
            (std::vector<Record>{{1, {"x", "say \"hi\"", "\""}}}));
  // Several escaped fields in one record: views into the scratch buffer must stay valid.
  EXPECT_EQ(MustParse("\"a\"\"\",\"b\"\"\",\"c\"\"\"\n"),
            (std::vector<Record>{{1, {"a\"", "b\"", "c\""}}}));
}

TEST(CsvTest, QuotedFieldWithLineBreaksKeepsLineNumbers) {
  EXPECT_EQ(MustParse("\"one\ntwo\",x\nnext\n"),
            (std::vector<Record>{{1, {"one\ntwo", "x"}}, {3, {"next"}}}));
  EXPECT_EQ(MustParse("\"a\r\nb\"\"c\"\r\nz"),
            (std::vector<Record>{{1, {"a\r\nb\"c"}}, {3, {"z"}}}));
}

TEST(CsvTest, BareQuoteInsideUnquotedFieldIsLiteral) {
  EXPECT_EQ(MustParse("5\"10,x\n"), (std::vector<Record>{{1, {"5\"10", "x"}}}));
}

TEST(CsvTest, OtherDelimiter) {
  EXPECT_EQ(MustParse("a\tb,c\t\"d\te\"\n", '\t'),
            (std::vector<Record>{{1, {"a", "b,c", "d\te"}}}));
}

TEST(CsvTest, UnterminatedQuoteNamesFileLineColumn) {
  std::vector<Record> out;
  Status s = Parse("a,b\nc,\"open\nmore\n", &out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "t.csv:2:3: unterminated quoted field");
}

TEST(CsvTest, GarbageAfterClosingQuote) {
  std::vector<Record> out;
  Status s = Parse("x\n\"ab\"c,d\n", &out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "t.csv:2:5: unexpected 'c' after a closing quote");
  s = Parse("\"ab\" \n", &out);
  EXPECT_EQ(s.message(), "t.csv:1:5: unexpected ' ' after a closing quote");
  // Columns count from after a byte-order mark.
  s = Parse("\xEF\xBB\xBF\"a\"\x01", &out);
  EXPECT_EQ(s.message(), "t.csv:1:4: unexpected byte 0x01 after a closing quote");
}

TEST(CsvTest, BadDelimiterRejected) {
  std::vector<Record> out;
  EXPECT_FALSE(Parse("a", &out, '"').ok());
  EXPECT_FALSE(Parse("a", &out, '\n').ok());
}

TEST(CsvTest, CallbackErrorStopsAndIsReturnedAsIs) {
  int calls = 0;
  Status s = ParseCsv("a\nb\nc\n", "t.csv", {}, [&](size_t line, const auto&) {
    ++calls;
    return line == 2 ? Status::NotFound("stop here") : Status::Ok();
  });
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "stop here");
}

double Num(std::string_view s) {
  double v = -12345;
  Status st = ParseNumber(s, &v);
  EXPECT_TRUE(st.ok()) << s << ": " << st.ToString();
  return v;
}

TEST(ParseNumberTest, Accepts) {
  EXPECT_EQ(Num("0"), 0);
  EXPECT_EQ(Num("42"), 42);
  EXPECT_EQ(Num("-17"), -17);
  EXPECT_EQ(Num("+3"), 3);
  EXPECT_EQ(Num("0.25"), 0.25);
  EXPECT_EQ(Num(".5"), 0.5);
  EXPECT_EQ(Num("5."), 5);
  EXPECT_EQ(Num("1e3"), 1000);
  EXPECT_EQ(Num("-2.5E-2"), -0.025);
  EXPECT_EQ(Num("  7 "), 7);
  EXPECT_EQ(Num("\t8\t"), 8);
  EXPECT_EQ(Num("125000.0003"), 125000.0003);
  EXPECT_EQ(Num("1e400"), HUGE_VAL);
  EXPECT_EQ(Num("-1e400"), -HUGE_VAL);
  EXPECT_EQ(Num("1e-400"), 0);
}

TEST(ParseNumberTest, InfinityAndNanAnyCase) {
  for (const char* s : {"inf", "Inf", "INF", "infinity", "Infinity", "+Infinity", " inf "}) {
    EXPECT_EQ(Num(s), HUGE_VAL) << s;
  }
  EXPECT_EQ(Num("-inf"), -HUGE_VAL);
  EXPECT_EQ(Num("-Infinity"), -HUGE_VAL);
  for (const char* s : {"nan", "NaN", "NAN", " NaN", "-nan"}) EXPECT_TRUE(std::isnan(Num(s))) << s;
}

TEST(ParseNumberTest, Rejects) {
  for (const char* s : {"", " ", "abc", "1a", "1,5", "--1", "+-1", "+", "-", "1e", "e5", "0x10",
                        "1 2", "infin", "nan(1)", "in", "Infinityx", "1.2.3"}) {
    double v = 99;
    Status st = ParseNumber(s, &v);
    EXPECT_FALSE(st.ok()) << "'" << s << "'";
    EXPECT_EQ(v, 99) << s;
  }
  double v;
  EXPECT_EQ(ParseNumber("abc", &v).message(), "'abc' is not a number");
}

}  // namespace
}  // namespace vigil
