#include "metrics/line_protocol.h"

#include <gtest/gtest.h>

#include <cmath>

#include "metrics/prometheus.h"

namespace vigil::metrics {
namespace {

TEST(LineProtocolTest, ParsesTagsTypedFieldsAndTimestamp) {
  auto p = ParseLine(R"(cpu,host=a,region=eu usage=0.5,n=3i,u=7u,ok=t,msg="hi \"x\"" 1700000000)",
                     Precision::kSeconds, 1);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->measurement, "cpu");
  ASSERT_EQ(p->tags.size(), 2u);
  EXPECT_EQ(p->tags[1].second, "eu");
  ASSERT_EQ(p->fields.size(), 5u);
  EXPECT_EQ(p->fields[0].second.type, FieldValue::Type::kFloat);
  EXPECT_EQ(p->fields[0].second.number, 0.5);
  EXPECT_EQ(p->fields[1].second.type, FieldValue::Type::kInteger);
  EXPECT_EQ(p->fields[1].second.integer, 3);
  EXPECT_EQ(p->fields[2].second.type, FieldValue::Type::kUnsigned);
  EXPECT_EQ(p->fields[2].second.unsigned_integer, 7u);
  EXPECT_EQ(p->fields[3].second.type, FieldValue::Type::kBoolean);
  EXPECT_EQ(p->fields[3].second.number, 1);
  EXPECT_EQ(p->fields[4].second.text, "hi \"x\"");
  ASSERT_TRUE(p->time_ns.has_value());
  EXPECT_EQ(*p->time_ns, 1700000000LL * 1000000000LL);
}

TEST(LineProtocolTest, HandlesEscapes) {
  auto p =
      ParseLine(R"(my\ disk,path=C:\\x,mount\=pt=/a\,b free\ bytes=1)", Precision::kNanoseconds, 1);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->measurement, "my disk");
  EXPECT_EQ(p->tags[0].second, "C:\\x");
  EXPECT_EQ(p->tags[1].first, "mount=pt");
  EXPECT_EQ(p->tags[1].second, "/a,b");
  EXPECT_EQ(p->fields[0].first, "free bytes");
  EXPECT_FALSE(p->time_ns.has_value());
}

TEST(LineProtocolTest, SeriesKeySortsTagsAndNamesTheField) {
  auto a = ParseLine("cpu,z=1,a=2 idle=1", Precision::kNanoseconds, 1);
  auto b = ParseLine("cpu,a=2,z=1 idle=5", Precision::kNanoseconds, 1);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(SeriesKey(*a, "idle"), "cpu,a=2,z=1 idle");
  EXPECT_EQ(SeriesKey(*a, "idle"), SeriesKey(*b, "idle"));
  auto c = ParseLine(R"(c\ p,k=a\ b f=1)", Precision::kNanoseconds, 1);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(SeriesKey(*c, "f"), R"(c\ p,k=a\ b f)");
}

TEST(LineProtocolTest, ErrorsNameLineAndColumn) {
  const std::string text =
      "cpu value=1 10\n"
      "\n"
      "# a comment\n"
      "cpu value=abc 11\n"
      "cpu,host value=1\n"
      "cpu\n"
      "cpu value=2 notatime\n"
      "mem free=3i 12\n";
  auto batch = ParseLineProtocol(text, Precision::kNanoseconds);
  ASSERT_EQ(batch.points.size(), 2u);
  EXPECT_EQ(batch.points[1].measurement, "mem");
  ASSERT_EQ(batch.errors.size(), 4u);
  EXPECT_EQ(batch.errors[0].line, 4u);
  EXPECT_EQ(batch.errors[0].column, 11u);
  EXPECT_NE(batch.errors[0].message.find("'abc'"), std::string::npos) << batch.errors[0].message;
  EXPECT_EQ(batch.errors[1].line, 5u);
  EXPECT_NE(batch.errors[1].message.find("tag 'host'"), std::string::npos);
  EXPECT_EQ(batch.errors[2].line, 6u);
  EXPECT_NE(batch.errors[2].message.find("missing fields"), std::string::npos);
  EXPECT_EQ(batch.errors[3].line, 7u);
  EXPECT_EQ(batch.errors[3].ToString().rfind("line 7, column 13: ", 0), 0u)
      << batch.errors[3].ToString();
}

TEST(LineProtocolTest, RejectsBadValuesAndOverflow) {
  for (const char* bad : {"cpu v=1.2.3", "cpu v=-5u", "cpu v=9999999999999999999i", "cpu v=\"open",
                          "cpu v=nan", "cpu v=1 1 2", "cpu =1", "cpu v=", ",t=1 v=1"}) {
    EXPECT_FALSE(ParseLine(bad, Precision::kNanoseconds, 1).ok()) << bad;
  }
  EXPECT_FALSE(ParseLine("cpu v=1 9223372036854775", Precision::kSeconds, 1).ok());
  auto ms = ParseLine("cpu v=1 1500", Precision::kMilliseconds, 1);
  ASSERT_TRUE(ms.ok());
  EXPECT_EQ(*ms->time_ns, 1500000000LL);
  EXPECT_TRUE(ParsePrecision("ms").ok());
  EXPECT_FALSE(ParsePrecision("days").ok());
}

TEST(PrometheusTest, ParsesSamplesLabelsAndSpecialValues) {
  const std::string text =
      "# HELP http_requests_total The total.\n"
      "# TYPE http_requests_total counter\n"
      "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
      "http_requests_total{method=\"get\",path=\"a\\\"b\\\\c\\n\",} 3\n"
      "up 1\n"
      "temp -Inf\n"
      "bad{x=1} 2\n"
      "nolabels 1.5e3 notatime\n";
  auto b = ParsePrometheusText(text);
  ASSERT_EQ(b.points.size(), 4u);
  EXPECT_EQ(b.points[0].measurement, "http_requests_total");
  EXPECT_EQ(b.points[0].tags[1].second, "200");
  EXPECT_EQ(b.points[0].fields[0].second.number, 1027);
  EXPECT_EQ(*b.points[0].time_ns, 1395066363000LL * 1000000);
  EXPECT_EQ(b.points[1].tags[1].second, "a\"b\\c\n");
  EXPECT_FALSE(b.points[1].time_ns.has_value());
  EXPECT_TRUE(std::isinf(b.points[3].fields[0].second.number));
  ASSERT_EQ(b.errors.size(), 2u);
  EXPECT_EQ(b.errors[0].line, 7u);
  EXPECT_EQ(b.errors[0].column, 7u);
  EXPECT_EQ(b.errors[1].line, 8u);
  EXPECT_EQ(SeriesKey(b.points[0], "value"), "http_requests_total,code=200,method=post value");
}

}  // namespace
}  // namespace vigil::metrics
