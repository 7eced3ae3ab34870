#include "train/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace vigil {
namespace {

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigTest, TomlSetsKeysWithDashesOrUnderscores) {
  std::string path = WriteTemp("cfg_ok.toml",
                               "model = \"autoencoder\"\nbatch-size = 64\nlr = 0.01\n"
                               "hidden = [32, 8, 32]\nvalid_split = 0.2\n");
  TrainConfig c;
  ASSERT_TRUE(ApplyTomlFile(path, &c).ok());
  EXPECT_EQ(c.model, "autoencoder");
  EXPECT_EQ(c.batch_size, 64);
  EXPECT_DOUBLE_EQ(c.lr, 0.01);
  EXPECT_EQ(c.hidden, (std::vector<int64_t>{32, 8, 32}));
  EXPECT_DOUBLE_EQ(c.valid_split, 0.2);
  EXPECT_EQ(c.ToJson()["batch_size"], 64);
}

TEST(ConfigTest, UnknownKeyWrongTypeAndSyntaxErrorsNameFileAndLine) {
  TrainConfig c;
  Status s = ApplyTomlFile(WriteTemp("cfg_unknown.toml", "epochs = 3\nepoch = 4\n"), &c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cfg_unknown.toml:2"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'epoch'"), std::string::npos);
  s = ApplyTomlFile(WriteTemp("cfg_type.toml", "epochs = \"many\"\n"), &c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("wrong type"), std::string::npos) << s.message();
  s = ApplyTomlFile(WriteTemp("cfg_syntax.toml", "epochs = = 3\n"), &c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cfg_syntax.toml:1"), std::string::npos) << s.message();
}

TEST(ConfigTest, ValidateExplainsBadValues) {
  TrainConfig c;
  c.train = "x.csv";
  EXPECT_TRUE(c.Validate().ok());
  c.valid_split = 0;
  EXPECT_NE(c.Validate().message().find("--valid-split"), std::string::npos);
  c.valid_split = 0.1;
  c.format = "csv";
  EXPECT_NE(c.Validate().message().find("--schema"), std::string::npos);
}

}  // namespace
}  // namespace vigil
