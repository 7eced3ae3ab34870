#include "logs/detect.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "logs/format.h"

namespace vigil {
namespace {

// Generated lines in a few header styles; the content varies so that no content column looks
// like a header column.
std::vector<std::string> Generate(const std::string& style, int n) {
  const char* words[] = {"opened", "closed", "failed", "started", "stopped", "retried"};
  const char* levels[] = {"INFO", "WARN", "INFO", "ERROR", "INFO"};
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i) {
    std::string content = std::string("session ") + words[i % 6] + " for user u" +
                          std::to_string(i % 17) + " after " + std::to_string(i * 7 % 1000) + " ms";
    std::string time = "12:" + std::to_string(10 + i % 50) + ":" + std::to_string(10 + i % 49);
    std::string level = levels[i % 5];
    if (style == "java") {
      lines.push_back("2024-01-0" + std::to_string(1 + i % 9) + " " + time + "," +
                      std::to_string(100 + i % 900) + " " + level + " [worker-" +
                      std::to_string(i % 4) + "] com.example.Service" + std::to_string(i % 3) +
                      ": " + content);
    } else if (style == "syslog") {
      lines.push_back("Mar " + std::to_string(1 + i % 28) + " " + time + " host" +
                      std::to_string(i % 3) + " sshd[" + std::to_string(1000 + i) +
                      "]: " + content);
    } else if (style == "pipes") {
      lines.push_back("20240101-" + time + "|Step_" + std::to_string(i % 5) + "|" +
                      std::to_string(300000 + i) + "|" + content);
    } else {  // bracketed time and level
      lines.push_back("[Sun Dec 04 " + time + " 2005] [" + (i % 3 ? "notice" : "error") + "] " +
                      content);
    }
  }
  return lines;
}

std::string Detect(const std::vector<std::string>& lines) {
  std::vector<std::string_view> views(lines.begin(), lines.end());
  return DetectFormatSpec(views);
}

void ExpectAllMatchWithContent(const std::string& spec, const std::vector<std::string>& lines) {
  auto f = LogFormat::Parse(spec);
  ASSERT_TRUE(f.ok()) << spec << ": " << f.status().ToString();
  std::vector<std::string_view> fields;
  for (const std::string& l : lines) {
    ASSERT_TRUE(f->Match(l, &fields)) << spec << " does not match " << l;
    EXPECT_EQ(fields[f->content_index()].substr(0, 8), "session ") << l;
  }
}

TEST(DetectFormatTest, JavaStyleWithLevelThreadAndComponent) {
  auto lines = Generate("java", 300);
  std::string spec = Detect(lines);
  EXPECT_EQ(spec, "<H1> <H2> <Level> \\[<H4>\\] <Component>: <Content>");
  ExpectAllMatchWithContent(spec, lines);
}

TEST(DetectFormatTest, SyslogStyleWithHostAndProgram) {
  auto lines = Generate("syslog", 300);
  std::string spec = Detect(lines);
  EXPECT_EQ(spec, "<H1> <H2> <H3> <H4> <Component>: <Content>");
  ExpectAllMatchWithContent(spec, lines);
}

TEST(DetectFormatTest, PipeSeparatedHeader) {
  auto lines = Generate("pipes", 300);
  std::string spec = Detect(lines);
  EXPECT_EQ(spec, "<H1>\\|<H2>\\|<H3>\\|<Content>");
  ExpectAllMatchWithContent(spec, lines);
}

TEST(DetectFormatTest, BracketedTimeAndLevel) {
  auto lines = Generate("brackets", 300);
  std::string spec = Detect(lines);
  EXPECT_EQ(spec, "\\[<H1>\\] \\[<Level>\\] <Content>");
  ExpectAllMatchWithContent(spec, lines);
}

TEST(DetectFormatTest, NoStructureMeansWholeLine) {
  std::vector<std::string> lines = {"hello world", "another message here", "", "x"};
  EXPECT_EQ(Detect(lines), "<Content>");
  EXPECT_EQ(Detect({}), "<Content>");
}

}  // namespace
}  // namespace vigil
