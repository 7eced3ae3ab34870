#include "logs/format.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil {
namespace {

LogFormat MustParse(std::string_view spec) {
  auto f = LogFormat::Parse(spec);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return f.ok() ? *f : LogFormat();
}

std::vector<std::string> MatchAll(const LogFormat& f, std::string_view line) {
  std::vector<std::string_view> fields;
  if (!f.Match(line, &fields)) return {"<no match>"};
  return {fields.begin(), fields.end()};
}

TEST(LogFormatTest, ParsesFieldsAndContentIndex) {
  LogFormat f = MustParse("<Date> <Time> <Level> <Component>: <Content>");
  EXPECT_EQ(f.field_names(),
            (std::vector<std::string>{"Date", "Time", "Level", "Component", "Content"}));
  EXPECT_EQ(f.content_index(), 4u);
}

TEST(LogFormatTest, MatchesLoghubStyleLine) {
  LogFormat f = MustParse("<Date> <Time> <Pid> <Level> <Component>: <Content>");
  EXPECT_EQ(
      MatchAll(f,
               "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 "
               "for block blk_38865049064139660 terminating\r"),
      (std::vector<std::string>{"081109", "203615", "148", "INFO", "dfs.DataNode$PacketResponder",
                                "PacketResponder 1 for block blk_38865049064139660 "
                                "terminating"}));
}

TEST(LogFormatTest, BlanksMatchRunsAndFieldsAreLazy) {
  LogFormat f = MustParse("<Month> <Day> <Time> <Host> <Component>: <Content>");
  // Two spaces before the day, and ": " inside the content stays in the content.
  EXPECT_EQ(
      MatchAll(f, "Jun  9 06:06:20 combo syslogd 1.4.1: restart: now"),
      (std::vector<std::string>{"Jun", "9", "06:06:20", "combo", "syslogd 1.4.1", "restart: now"}));
}

TEST(LogFormatTest, EscapedBracketsAndFieldsWithSpaces) {
  LogFormat f = MustParse("\\[<Time>\\] \\[<Level>\\] <Content>");
  EXPECT_EQ(
      MatchAll(f, "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok"),
      (std::vector<std::string>{"Sun Dec 04 04:47:44 2005", "notice", "workerEnv.init() ok"}));
}

TEST(LogFormatTest, FieldsAreLazyAndBacktrackLikeTheRegex) {
  // Each field takes the shortest text, as loghub's ".*?" does: the first '@' ends <Component>.
  LogFormat f = MustParse("<Level> \\[<Node>:<Component>@<Id>\\] - <Content>");
  EXPECT_EQ(MatchAll(f, "INFO [main:a@b@774] - started"),
            (std::vector<std::string>{"INFO", "main", "a", "b@774", "started"}));
  // A literal that must end the line makes the fields before it move on to later separators.
  LogFormat g = MustParse("<Content>: <B>:");
  EXPECT_EQ(MatchAll(g, "a: b: c:"), (std::vector<std::string>{"a", "b: c"}));
  EXPECT_EQ(MatchAll(g, "a: b: c"), (std::vector<std::string>{"<no match>"}));
}

TEST(LogFormatTest, ContentNotLastAndEmptyContent) {
  LogFormat f = MustParse("<Content> |<Tag>|");
  EXPECT_EQ(MatchAll(f, "hello world |x|"), (std::vector<std::string>{"hello world", "x"}));
  LogFormat g = MustParse("<Level>: <Content>");
  EXPECT_EQ(MatchAll(g, "INFO: "), (std::vector<std::string>{"<no match>"}));  // trimmed to "INFO:"
  EXPECT_EQ(MatchAll(g, "INFO: x"), (std::vector<std::string>{"INFO", "x"}));
}

TEST(LogFormatTest, NonMatchingLinesReturnFalse) {
  LogFormat f = MustParse("<Date> <Time> <Level> <Component>: <Content>");
  std::vector<std::string_view> fields;
  EXPECT_FALSE(f.Match("just some words", &fields));
  EXPECT_FALSE(f.Match("", &fields));
}

TEST(LogFormatTest, SpecErrors) {
  EXPECT_FALSE(LogFormat::Parse("<Date> <Time>").ok());      // no Content
  EXPECT_FALSE(LogFormat::Parse("<Date><Content>").ok());    // adjacent fields
  EXPECT_FALSE(LogFormat::Parse("<A> <A> <Content>").ok());  // duplicate
  EXPECT_FALSE(LogFormat::Parse("<Content> \\").ok());       // dangling escape
  auto s = LogFormat::Parse("<Date> <Time>");
  EXPECT_NE(s.status().message().find("Content"), std::string::npos);
  // "<>" and "< x>" are literal text.
  EXPECT_TRUE(LogFormat::Parse("<> < x> <Content>").ok());
}

TEST(LogFormatTest, HostileLineStaysFast) {
  LogFormat f = MustParse("<A>: <B>: <C>: <D>: <E>: <F>; <Content>");
  std::string line;
  for (int i = 0; i < 5000; ++i) line += ": ";
  std::vector<std::string_view> fields;
  EXPECT_FALSE(f.Match(line, &fields));  // returns (budget), no hang
}

TEST(TrimBlanksTest, Trims) {
  EXPECT_EQ(TrimBlanks(" \t a b \r\n"), "a b");
  EXPECT_EQ(TrimBlanks("   "), "");
}

}  // namespace
}  // namespace vigil
