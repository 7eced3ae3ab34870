#include "data/schema_json.h"

#include <gtest/gtest.h>

#include "data/format.h"

namespace vigil {
namespace {

TEST(SchemaJsonTest, RoundTripKeepsEveryField) {
  Schema s;
  s.format = "csv";
  s.header = true;
  s.delimiter = ';';
  s.normal_classes = {"BENIGN"};
  s.default_role = ColumnRole::kNumeric;
  s.columns = {{"Source IP", ColumnRole::kSource}, {"Label", ColumnRole::kClass}};
  auto back = SchemaFromJson(nlohmann::json::parse(SchemaToJson(s).dump()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->format, "csv");
  EXPECT_EQ(back->delimiter, ';');
  EXPECT_EQ(back->normal_classes, s.normal_classes);
  EXPECT_EQ(back->default_role, ColumnRole::kNumeric);
  ASSERT_EQ(back->columns.size(), 2u);
  EXPECT_EQ(back->columns[0].name, "Source IP");
  EXPECT_EQ(back->columns[0].role, ColumnRole::kSource);
}

TEST(SchemaJsonTest, PresetsRoundTrip) {
  for (const char* format : {"nsl-kdd", "unsw-nb15"}) {
    auto s = MakeSchema(format);
    ASSERT_TRUE(s.ok()) << format;
    auto back = SchemaFromJson(SchemaToJson(*s));
    ASSERT_TRUE(back.ok()) << format;
    EXPECT_EQ(SchemaToJson(*back), SchemaToJson(*s)) << format;
  }
}

TEST(SchemaJsonTest, CorruptSchemasAreErrors) {
  Schema s;
  s.columns = {{"x", ColumnRole::kNumeric}};
  nlohmann::json j = SchemaToJson(s);
  j["columns"][0]["role"] = "weight";
  auto r = SchemaFromJson(j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("weight"), std::string::npos);
  j = SchemaToJson(s);
  j["delimiter"] = ",,";
  EXPECT_FALSE(SchemaFromJson(j).ok());
  j = SchemaToJson(s);
  j.erase("columns");
  EXPECT_FALSE(SchemaFromJson(j).ok());
}

}  // namespace
}  // namespace vigil
