#include "logs/masks.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil {
namespace {

Masker MustCreate(const MaskOptions& o = {}) {
  auto m = Masker::Create(o);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return *m;
}

std::vector<std::string> Mask(const Masker& m, std::string_view content) {
  MaskedLine out;
  m.MaskLine(content, &out);
  return out.tokens;
}

TEST(MasksTest, NumbersIdsAndKeys) {
  Masker m = MustCreate();
  EXPECT_EQ(m.MaskToken("12345"), "<*>");
  EXPECT_EQ(m.MaskToken("-3.5"), "<*>");
  EXPECT_EQ(m.MaskToken("blk_-6952295868487656571"), "blk_<*>");
  EXPECT_EQ(m.MaskToken("node-246"), "node-<*>");
  EXPECT_EQ(m.MaskToken("eth0"), "eth<*>");
  EXPECT_EQ(m.MaskToken("(uid=509)"), "(uid=<*>)");
  EXPECT_EQ(m.MaskToken("rhost=218.188.2.4"), "rhost=<*>");
  EXPECT_EQ(m.MaskToken("status:"), "status:");
  EXPECT_EQ(m.MaskToken("word"), "word");
  EXPECT_EQ(m.MaskToken("-"), "-");  // punctuation is structure
  EXPECT_EQ(m.MaskToken("****"), "****");
}

TEST(MasksTest, AddressesHexPathsHosts) {
  Masker m = MustCreate();
  EXPECT_EQ(m.MaskToken("10.251.73.220:50010"), "<*>");
  EXPECT_EQ(m.MaskToken("fe80::1"), "<*>");
  EXPECT_EQ(m.MaskToken("0x7fed806eb5d"), "<*>");
  EXPECT_EQ(m.MaskToken("b9000564-fe1a-409b-b8cc-1e88b294cd1d"), "<*>");
  EXPECT_EQ(m.MaskToken("FF:F2:9F:16:DC:81"), "<*>");
  EXPECT_EQ(m.MaskToken("54fadb412c4e40cdbaed9335e4c35a9e"), "<*>");
  EXPECT_EQ(m.MaskToken("dead"), "dead");  // a word, not a hex number
  EXPECT_EQ(m.MaskToken("/etc/httpd/conf/workers2.properties"), "<*>");
  EXPECT_EQ(m.MaskToken("'C:\\Windows\\system32'"), "'<*>'");
  EXPECT_EQ(m.MaskToken("(host129.maximumasp.com)"), "(<*>)");
  EXPECT_EQ(m.MaskToken("org.apache.hadoop.Task"), "org.apache.hadoop.Task");
}

TEST(MasksTest, DatesUnitsAndCollapse) {
  Masker m = MustCreate();
  EXPECT_EQ(Mask(m, "connection at Sat Jul  9 11:35:59 2005"),
            (std::vector<std::string>{"connection", "at", "<*>"}));
  EXPECT_EQ(Mask(m, "size 5.2 KB, free 93.0 B)"),
            (std::vector<std::string>{"size", "<*>", "<*>,", "free", "<*>", "<*>)"}));
  EXPECT_EQ(Mask(m, "delete blk_1 blk_2 blk_3 now"),
            (std::vector<std::string>{"delete", "blk_<*>", "now"}));
  EXPECT_EQ(Mask(m, "May I help"), (std::vector<std::string>{"May", "I", "help"}));
}

TEST(MasksTest, SpansPointAtRawTokens) {
  Masker m = MustCreate();
  MaskedLine out;
  std::string content = "a  blk_1 blk_2\tb";
  m.MaskLine(content, &out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(content.substr(out.spans[1].first, out.spans[1].second - out.spans[1].first),
            "blk_1 blk_2");
  EXPECT_EQ(content.substr(out.spans[2].first, 1), "b");
}

TEST(MasksTest, KindsCanBeTurnedOff) {
  MaskOptions o;
  o.numbers = false;
  o.collapse = false;
  Masker m = MustCreate(o);
  EXPECT_EQ(m.MaskToken("node-246"), "node-246");
  EXPECT_EQ(m.MaskToken("10.0.0.1"), "<*>");  // ips still on
  o.ips = false;
  o.hex = false;
  EXPECT_EQ(MustCreate(o).MaskToken("10.0.0.1"), "10.0.0.1");
}

TEST(MasksTest, TomlFileFlagsAndCustomMasks) {
  auto o = ParseMaskOptions(R"(
hosts = false
[[custom]]
name = "session"
regex = "sess-[a-z]+"
)",
                            "masks.toml");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_FALSE(o->hosts);
  EXPECT_TRUE(o->numbers);
  ASSERT_EQ(o->custom.size(), 1u);
  Masker m = MustCreate(*o);
  EXPECT_EQ(m.MaskToken("[sess-abc]"), "[<*>]");
  EXPECT_EQ(m.MaskToken("a.example.com"), "a.example.com");

  auto round = MaskOptionsFromJson(MaskOptionsToJson(*o));
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(*round, *o);
}

TEST(MasksTest, TomlErrorsAreReported) {
  EXPECT_FALSE(ParseMaskOptions("numbrs = true", "m.toml").ok());
  EXPECT_FALSE(ParseMaskOptions("numbers = 3", "m.toml").ok());
  EXPECT_FALSE(ParseMaskOptions("numbers = ", "m.toml").ok());
  auto bad = ParseMaskOptions("[[custom]]\nname = \"x\"\nregex = \"(\"\n", "m.toml");
  ASSERT_TRUE(bad.ok());
  auto m = Masker::Create(*bad);
  EXPECT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("'x'"), std::string::npos);
}

}  // namespace
}  // namespace vigil
