// Session files (sessions, sessions-csv), format detection, the key vocabulary and encoding.
#include "data/sessions.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

using Keys = std::vector<std::string>;

TEST(SessionsTest, PlainLinesWithTrailingBlanksCrAndNoFinalNewline) {
  auto s = ParseSessions("5 5 22 \r\n\n  11 9\t26 \n7", "x", "sessions");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->size(), 3u);
  EXPECT_EQ(s->keys[0], (Keys{"5", "5", "22"}));
  EXPECT_EQ(s->keys[1], (Keys{"11", "9", "26"}));
  EXPECT_EQ(s->keys[2], (Keys{"7"}));
  EXPECT_EQ(s->lines, (std::vector<size_t>{1, 3, 4}));
  EXPECT_FALSE(s->has_labels());
  EXPECT_FALSE(ParseSessions("5 5\n", "x", "sessions", /*require_labels=*/true).ok());
}

TEST(SessionsTest, CsvWithLabelsByColumnName) {
  auto s = ParseSessions("id,label,Sequence\na,0,5 22 5\nb,1,\nc,anomaly,E1 E2\n", "x.csv",
                         "sessions-csv", true);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->size(), 3u);
  EXPECT_EQ(s->keys[0], (Keys{"5", "22", "5"}));
  EXPECT_TRUE(s->keys[1].empty());  // an empty session is kept: its end is judged
  EXPECT_EQ(s->keys[2], (Keys{"E1", "E2"}));
  EXPECT_EQ(s->labels, (std::vector<uint8_t>{0, 1, 1}));
  EXPECT_EQ(s->lines, (std::vector<size_t>{2, 3, 4}));
}

TEST(SessionsTest, CsvErrorsNameFileLineAndField) {
  auto s = ParseSessions("Sequence,label\n5 5,0\n5 22,maybe\n", "x.csv", "sessions-csv");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("x.csv:3:2: field 'label': 'maybe'"), std::string::npos)
      << s.status().message();
  s = ParseSessions("Keys,label\n5,0\n", "x.csv", "sessions-csv");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("no 'Sequence' column"), std::string::npos);
  s = ParseSessions("Sequence,label\n5,0,1\n", "x.csv", "sessions-csv");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("x.csv:2: expected 2 fields, found 3"), std::string::npos);
  s = ParseSessions("Sequence\n5 22\n", "x.csv", "sessions-csv", /*require_labels=*/true);
  ASSERT_FALSE(s.ok());
  auto unlabelled = ParseSessions("Sequence\n5 22\n", "x.csv", "sessions-csv");
  ASSERT_TRUE(unlabelled.ok());
  EXPECT_FALSE(unlabelled->has_labels());
  EXPECT_FALSE(ParseSessions("5\n", "x", "pcap").ok());
}

TEST(SessionsTest, FormatIsDetectedFromTheFirstLine) {
  EXPECT_EQ(DetectSessionFormat("\xEF\xBB\xBFSequence,label\n5 22,1\n"), "sessions-csv");
  EXPECT_EQ(DetectSessionFormat("\n\nlabel,sequence\n"), "sessions-csv");
  EXPECT_EQ(DetectSessionFormat("5 5 22\n"), "sessions");
  EXPECT_EQ(DetectSessionFormat(""), "sessions");
  auto s = ParseSessions("Sequence,label\n5 22,1\n", "x", "");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->labels, (std::vector<uint8_t>{1}));
}

TEST(SessionsTest, VocabularySortsIntegerKeysNumericallyAndMapsUnknownKeys) {
  SessionSet s;
  s.keys = {{"10", "9", "22"}, {"9", "3"}};
  KeyVocabulary v = KeyVocabulary::Build(s);
  EXPECT_EQ(v.keys(), (Keys{"3", "9", "10", "22"}));
  EXPECT_EQ(v.size(), KeyVocabulary::kFirstKey + 4);
  EXPECT_EQ(v.Symbol("9"), KeyVocabulary::kFirstKey + 1);
  EXPECT_EQ(v.Symbol("11"), KeyVocabulary::kUnknown);
  EXPECT_EQ(v.Name(KeyVocabulary::kEnd), "<end>");
  EXPECT_EQ(v.Name(KeyVocabulary::kFirstKey + 3), "22");
  s.keys = {{"E10", "E9"}};
  EXPECT_EQ(KeyVocabulary::Build(s).keys(), (Keys{"E10", "E9"}));  // text order
  EXPECT_FALSE(KeyVocabulary::FromKeys({"a", "a"}).ok());
  EXPECT_FALSE(KeyVocabulary::FromKeys({""}).ok());
}

TEST(SessionsTest, EncodingPadsTheStartAndAddsTheEnd) {
  auto v = KeyVocabulary::FromKeys({"5", "22"});
  ASSERT_TRUE(v.ok());
  const int64_t s = KeyVocabulary::kStart, e = KeyVocabulary::kEnd, u = KeyVocabulary::kUnknown;
  EXPECT_EQ(EncodeSession(*v, {"22", "7", "5"}, 3), (std::vector<int64_t>{s, s, s, 4, u, 3, e}));
  EXPECT_EQ(EncodeSession(*v, {}, 2), (std::vector<int64_t>{s, s, e}));
}

}  // namespace
}  // namespace vigil
