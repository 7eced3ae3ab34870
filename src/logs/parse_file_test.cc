#include "logs/parse_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/file.h"
#include "data/csv.h"
#include "logs/parser.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

class ParseFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vigil_logs_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  static std::vector<std::vector<std::string>> ReadCsv(const std::string& path) {
    std::vector<std::vector<std::string>> rows;
    auto text = ReadFile(path);
    EXPECT_TRUE(text.ok()) << path;
    if (!text.ok()) return rows;
    Status s = ParseCsv(*text, path, {}, [&](size_t, const std::vector<std::string_view>& f) {
      rows.emplace_back(f.begin(), f.end());
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return rows;
  }

  // Lines in HDFS style: "DATE TIME PID LEVEL COMPONENT: CONTENT".
  static std::string Line(int i) {
    std::string head = "081109 2036" + std::to_string(10 + i % 50) + " " + std::to_string(100 + i) +
                       " INFO dfs.DataNode: ";
    switch (i % 3) {
      case 0:
        return head + "Receiving block blk_" + std::to_string(i * 7919) + " src: /10.0.0." +
               std::to_string(i % 250) + ":50010";
      case 1:
        return head + "PacketResponder " + std::to_string(i % 3) + " for block blk_" +
               std::to_string(i * 31) + " terminating";
      default:
        return head + "Served block blk_" + std::to_string(i) + " to /10.0.0.1";
    }
  }

  fs::path dir_;
};

TEST_F(ParseFileTest, WritesLoghubStyleOutputsAndKeepsMalformedLines) {
  std::string log;
  for (int i = 0; i < 30; ++i) log += Line(i) + "\n";
  log += "garbage without a header\n";
  log += Line(30);  // no final newline
  ASSERT_TRUE(WriteFileAtomic(Path("app.log"), log).ok());

  ParseFileOptions o;
  o.input = Path("app.log");
  o.format = "<Date> <Time> <Pid> <Level> <Component>: <Content>";
  o.out_dir = Path("out");
  auto sum = ParseLogFile(o);
  ASSERT_TRUE(sum.ok()) << sum.status().ToString();
  EXPECT_EQ(sum->lines, 32u);
  EXPECT_EQ(sum->malformed, 1u);
  EXPECT_EQ(sum->templates, 4u);  // three events and the malformed line's own

  auto rows = ReadCsv(Path("out/app.log_structured.csv"));
  ASSERT_EQ(rows.size(), 33u);
  EXPECT_EQ(rows[0],
            (std::vector<std::string>{"LineId", "Date", "Time", "Pid", "Level", "Component",
                                      "Content", "EventId", "EventTemplate", "ParameterList"}));
  EXPECT_EQ(rows[2][0], "2");
  EXPECT_EQ(rows[2][6], "PacketResponder 1 for block blk_31 terminating");
  EXPECT_EQ(rows[2][8], "PacketResponder <*> for block blk_<*> terminating");
  EXPECT_EQ(rows[2][9], "[\"1\",\"31\"]");
  EXPECT_EQ(rows[31][0], "31");  // the malformed line is kept, in order, whole
  EXPECT_EQ(rows[31][1], "");
  EXPECT_EQ(rows[31][6], "garbage without a header");

  auto malformed = ReadCsv(Path("out/app.log_malformed.csv"));
  ASSERT_EQ(malformed.size(), 2u);
  EXPECT_EQ(malformed[1], (std::vector<std::string>{"31", "garbage without a header"}));

  auto templates = ReadCsv(Path("out/app.log_templates.csv"));
  ASSERT_EQ(templates.size(), 5u);
  EXPECT_EQ(templates[0], (std::vector<std::string>{"EventId", "EventTemplate", "Occurrences"}));
  EXPECT_EQ(templates[1][0], "E1");
  EXPECT_EQ(templates[1][1], "Receiving block blk_<*> src: <*>");
  EXPECT_EQ(templates[1][2], "11");
}

TEST_F(ParseFileTest, DetectsTheFormatWhenNoneIsGiven) {
  std::string log;
  for (int i = 0; i < 60; ++i) log += Line(i) + "\n";
  ASSERT_TRUE(WriteFileAtomic(Path("d.log"), log).ok());
  ParseFileOptions o;
  o.input = Path("d.log");
  o.out_dir = Path("out");
  auto sum = ParseLogFile(o);
  ASSERT_TRUE(sum.ok()) << sum.status().ToString();
  EXPECT_TRUE(sum->format_detected);
  EXPECT_EQ(sum->format, "<H1> <H2> <H3> <Level> <Component>: <Content>");
  EXPECT_EQ(sum->malformed, 0u);
  EXPECT_EQ(sum->templates, 3u);
}

TEST_F(ParseFileTest, ResumesAGrowingLogWithStableIds) {
  std::string part1, part2;
  for (int i = 0; i < 40; ++i) part1 += Line(i) + "\n";
  for (int i = 40; i < 100; ++i) part2 += Line(i) + "\n";
  part2 += "a brand new event happened here\n";

  // Uninterrupted run over the whole file.
  ASSERT_TRUE(WriteFileAtomic(Path("whole.log"), part1 + part2).ok());
  ParseFileOptions o;
  o.input = Path("whole.log");
  o.out_dir = Path("out_whole");
  o.state_path = Path("whole.state.json");
  ASSERT_TRUE(ParseLogFile(o).ok());

  // The same file in two steps.
  ASSERT_TRUE(WriteFileAtomic(Path("grow.log"), part1).ok());
  o.input = Path("grow.log");
  o.out_dir = Path("out1");
  o.state_path = Path("grow.state.json");
  auto first = ParseLogFile(o);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->lines, 40u);
  EXPECT_FALSE(first->resumed);
  auto templates1 = ReadCsv(Path("out1/grow.log_templates.csv"));

  ASSERT_TRUE(WriteFileAtomic(Path("grow.log"), part1 + part2).ok());
  o.out_dir = Path("out2");
  auto second = ParseLogFile(o);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->resumed);
  EXPECT_EQ(second->first_line, 41u);
  EXPECT_EQ(second->lines, 61u);
  EXPECT_EQ(second->new_templates, 1u);
  EXPECT_FALSE(second->format_detected);  // the state's format

  auto rows = ReadCsv(Path("out2/grow.log_structured.csv"));
  ASSERT_EQ(rows.size(), 62u);
  EXPECT_EQ(rows[1][0], "41");
  // Earlier templates keep their ids; the totals match the uninterrupted run.
  auto templates2 = ReadCsv(Path("out2/grow.log_templates.csv"));
  for (size_t i = 1; i < templates1.size(); ++i) {
    EXPECT_EQ(templates2[i][0], templates1[i][0]);
    EXPECT_EQ(templates2[i][1], templates1[i][1]);
  }
  EXPECT_EQ(templates2, ReadCsv(Path("out_whole/whole.log_templates.csv")));

  // Nothing new: nothing parsed, same templates.
  o.out_dir = Path("out3");
  auto third = ParseLogFile(o);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->lines, 0u);
  EXPECT_EQ(ReadCsv(Path("out3/grow.log_templates.csv")), templates2);
}

TEST_F(ParseFileTest, ChangedFileIsParsedFromTheStartAndMasksMustMatchTheState) {
  std::string log;
  for (int i = 0; i < 20; ++i) log += Line(i) + "\n";
  ASSERT_TRUE(WriteFileAtomic(Path("x.log"), log).ok());
  ParseFileOptions o;
  o.input = Path("x.log");
  o.out_dir = Path("out");
  o.state_path = Path("x.state");
  ASSERT_TRUE(ParseLogFile(o).ok());
  ASSERT_TRUE(WriteFileAtomic(Path("x.log"), "rotated\n" + log).ok());
  auto again = ParseLogFile(o);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->resumed);
  EXPECT_EQ(again->first_line, 1u);
  EXPECT_EQ(again->new_templates, 1u);  // only "rotated" is new

  ASSERT_TRUE(WriteFileAtomic(Path("m.toml"), "numbers = false\n").ok());
  o.masks_path = Path("m.toml");
  auto s = ParseLogFile(o);
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);

  ASSERT_TRUE(WriteFileAtomic(Path("bad.state"), "{\"kind\": \"other\"}").ok());
  o.masks_path.clear();
  o.state_path = Path("bad.state");
  EXPECT_EQ(ParseLogFile(o).status().code(), StatusCode::kCorruption);
}

TEST(ParserTest, SplitLinesAndParameters) {
  EXPECT_EQ(SplitLines("a\r\nb\n\nc"), (std::vector<std::string_view>{"a", "b", "", "c"}));
  EXPECT_EQ(SplitLines("a\n"), (std::vector<std::string_view>{"a"}));
  EXPECT_TRUE(SplitLines("").empty());

  auto f = LogFormat::Parse("<Content>");
  ASSERT_TRUE(f.ok());
  auto p = LogParser::Create(*f, {}, {});
  ASSERT_TRUE(p.ok());
  p->Parse("took 5 ms for job-17");
  ParsedLine line = p->Parse("took 7 ms for job-3");
  const LogTemplate& t = p->miner().Get(line.template_id);
  EXPECT_EQ(t.Text(), "took <*> ms for job-<*>");
  MaskedLine masked;
  p->masker().MaskLine(line.content, &masked);
  EXPECT_EQ(ExtractParameters(t, line.content, masked), (std::vector<std::string_view>{"7", "3"}));
}

}  // namespace
}  // namespace vigil
