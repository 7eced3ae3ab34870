#include "data/format.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>
#include <string>

#include "core/file.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

class FormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("vigil_format_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& contents) {
    std::string path = (dir_ / name).string();
    EXPECT_TRUE(WriteFileAtomic(path, contents).ok());
    return path;
  }

  fs::path dir_;
};

// One NSL-KDD row: 41 features then attack and difficulty.
std::string KddRow(const std::string& attack, const std::string& src_bytes = "491",
                   bool difficulty = true) {
  std::string row = "0,tcp,ftp_data,SF," + src_bytes + ",0";
  for (int i = 0; i < 35; ++i) row += ",0.5";
  row += "," + attack;
  if (difficulty) row += ",20";
  return row;
}

TEST(NslKddFamilyTest, MapsTrainAndTestOnlyNames) {
  std::string f;
  EXPECT_TRUE(NslKddFamily("normal", &f));
  EXPECT_EQ(f, "normal");
  const std::pair<const char*, const char*> cases[] = {
      {"neptune", "DoS"},
      {"apache2", "DoS"},
      {"mailbomb", "DoS"},
      {"processtable", "DoS"},
      {"udpstorm", "DoS"},
      {"satan", "Probe"},
      {"mscan", "Probe"},
      {"saint", "Probe"},
      {"guess_passwd", "R2L"},
      {"httptunnel", "R2L"},
      {"named", "R2L"},
      {"sendmail", "R2L"},
      {"snmpgetattack", "R2L"},
      {"snmpguess", "R2L"},
      {"worm", "R2L"},
      {"xlock", "R2L"},
      {"xsnoop", "R2L"},
      {"buffer_overflow", "U2R"},
      {"ps", "U2R"},
      {"sqlattack", "U2R"},
      {"xterm", "U2R"},
      {" Smurf ", "DoS"},
  };
  for (const auto& [attack, family] : cases) {
    ASSERT_TRUE(NslKddFamily(attack, &f)) << attack;
    EXPECT_EQ(f, family) << attack;
  }
  EXPECT_FALSE(NslKddFamily("xyz", &f));
  EXPECT_FALSE(NslKddFamily("", &f));
}

TEST_F(FormatTest, UnknownFormatNamesValidOnes) {
  auto s = MakeSchema("arff");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("nsl-kdd, unsw-nb15, csv"), std::string::npos);
  EXPECT_FALSE(MakeSchema("csv").ok());  // needs a schema file
}

TEST_F(FormatTest, NslKddRowsIncludingTestOnlyAttacks) {
  auto schema = MakeSchema("nsl-kdd");
  ASSERT_TRUE(schema.ok());
  std::string path = Write("kdd.txt", KddRow("normal") + "\r\n" + KddRow("mscan") + "\r\n" +
                                          KddRow("apache2") + "\r\n" + KddRow("xterm") + "\r\n" +
                                          KddRow("snmpguess"));  // no final newline
  auto t = ReadTable(path, *schema);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->rows, 5u);
  EXPECT_EQ(t->numeric.size(), 38u);
  EXPECT_EQ(t->categorical_names, (std::vector<std::string>{"protocol_type", "service", "flag"}));
  EXPECT_EQ(t->numeric_names[1], "src_bytes");
  EXPECT_EQ(t->numeric[1][0], 491);
  EXPECT_EQ(t->categorical[1][2], "ftp_data");
  EXPECT_EQ(t->classes, (std::vector<std::string>{"normal", "Probe", "DoS", "U2R", "R2L"}));
  EXPECT_EQ(t->labels, (std::vector<uint8_t>{0, 1, 1, 1, 1}));
  EXPECT_TRUE(t->ids.empty());
  EXPECT_TRUE(t->times.empty());
}

TEST_F(FormatTest, NslKddWithoutDifficultyOrTarget) {
  auto schema = MakeSchema("nsl-kdd");
  ASSERT_TRUE(schema.ok());
  auto t = ReadTable(Write("k42.txt", KddRow("smurf", "1", false) + "\n"), *schema);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->classes, std::vector<std::string>{"DoS"});

  std::string features_only = KddRow("x", "1", false);
  features_only.resize(features_only.rfind(','));
  std::string path = Write("k41.txt", features_only + "\n");
  auto needs_target = ReadTable(path, *schema);
  ASSERT_FALSE(needs_target.ok());
  EXPECT_EQ(needs_target.status().message(), path + ":1: expected 43 fields, found 41");
  auto scored = ReadTable(path, *schema, /*require_target=*/false);
  ASSERT_TRUE(scored.ok()) << scored.status().ToString();
  EXPECT_FALSE(scored->has_target());
  EXPECT_EQ(scored->numeric.size(), 38u);
}

TEST_F(FormatTest, NslKddUnknownAttackNamesLine) {
  auto schema = MakeSchema("nsl-kdd");
  std::string path = Write("bad.txt", KddRow("normal") + "\n\n" + KddRow("xyz") + "\n");
  auto t = ReadTable(path, *schema);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), path + ":3: field 'attack': unknown NSL-KDD attack name 'xyz'");
}

TEST_F(FormatTest, WrongFieldCount) {
  auto schema = MakeSchema("nsl-kdd");
  std::string path = Write("short.txt", KddRow("normal") + "\n" + "0,tcp,http,SF,1\n");
  auto t = ReadTable(path, *schema);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), path + ":2: expected 43 fields, found 5");
}

TEST_F(FormatTest, BadNumberNamesColumn) {
  auto schema = MakeSchema("nsl-kdd");
  std::string path = Write("num.txt", KddRow("normal") + "\n" + KddRow("normal", "abc") + "\n");
  auto t = ReadTable(path, *schema);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.status().message(), path + ":2:5: field 'src_bytes': 'abc' is not a number");
}

// A UNSW-NB15 header with the columns shuffled and one extra column.
std::string UnswFile(bool drop_rate_and_sttl = false) {
  auto schema = MakeSchema("unsw-nb15");
  std::vector<std::string> names;
  for (const auto& c : schema->columns) {
    if (drop_rate_and_sttl && (c.name == "rate" || c.name == "sttl")) continue;
    names.push_back(c.name);
  }
  std::reverse(names.begin(), names.end());
  names.push_back("extra");
  std::string header, row1, row2;
  for (const auto& n : names) {
    std::string sep = header.empty() ? "" : ",";
    header += sep + n;
    if (n == "id") {
      row1 += sep + "7", row2 += sep + "8";
    } else if (n == "proto") {
      row1 += sep + "udp", row2 += sep + "tcp";
    } else if (n == "service" || n == "state") {
      row1 += sep + "-", row2 += sep + "FIN";
    } else if (n == "attack_cat") {
      row1 += sep + " Normal ", row2 += sep + "Backdoors";
    } else if (n == "label") {
      row1 += sep + "0", row2 += sep + "1";
    } else if (n == "extra") {
      row1 += sep + "zzz", row2 += sep + "yyy";
    } else {
      row1 += sep + "1.5", row2 += sep + (n == "dur" ? "2.5e-1" : "3");
    }
  }
  return header + "\n" + row1 + "\n" + row2 + "\n";
}

TEST_F(FormatTest, EmptyAndMissingFiles) {
  auto schema = MakeSchema("nsl-kdd");
  std::string empty = Write("empty.txt", "\n\n");
  auto t = ReadTable(empty, *schema);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), empty + ": empty file (no records)");
  EXPECT_EQ(ReadTable((dir_ / "nope.txt").string(), *schema).status().code(),
            StatusCode::kNotFound);

  auto unsw = MakeSchema("unsw-nb15");
  std::string full = UnswFile();
  std::string header_only = Write("h.csv", full.substr(0, full.find('\n') + 1));
  auto h = ReadTable(header_only, *unsw, false);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("no data rows"), std::string::npos);
}

TEST_F(FormatTest, UnswMapsColumnsByHeaderName) {
  auto schema = MakeSchema("unsw-nb15");
  ASSERT_TRUE(schema.ok());
  auto t = ReadTable(Write("u.csv", UnswFile()), *schema);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->rows, 2u);
  EXPECT_EQ(t->numeric.size(), 39u);
  EXPECT_EQ(t->numeric_names[0], "dur");  // schema order, not file order
  EXPECT_EQ(t->numeric[0][1], 0.25);
  EXPECT_EQ(t->categorical_names, (std::vector<std::string>{"proto", "service", "state"}));
  EXPECT_EQ(t->categorical[0], (std::vector<std::string>{"udp", "tcp"}));
  EXPECT_EQ(t->ids, (std::vector<std::string>{"7", "8"}));
  EXPECT_EQ(t->classes, (std::vector<std::string>{"Normal", "Backdoor"}));
  EXPECT_EQ(t->labels, (std::vector<uint8_t>{0, 1}));
}

TEST_F(FormatTest, UnswMissingColumnsListed) {
  auto schema = MakeSchema("unsw-nb15");
  std::string path = Write("u.csv", UnswFile(true));
  auto t = ReadTable(path, *schema);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(),
            path + ":1: the header lacks columns 'rate', 'sttl' named by the unsw-nb15 schema");
}

TEST_F(FormatTest, CsvSchemaWithDefaultRole) {
  std::string schema_path = Write("s.toml", R"(
header = true
normal_classes = ["BENIGN"]
default_role = "numeric"
[[columns]]
name = "Label"
role = "class"
[[columns]]
name = "Flow ID"
role = "id"
[[columns]]
name = "Timestamp"
role = "time"
[[columns]]
name = "Protocol"
role = "categorical"
)");
  auto schema = MakeSchema("csv", schema_path);
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  std::string data = Write("d.csv",
                           "\xEF\xBB\xBF Flow ID, Timestamp, Flow Duration,Protocol,Bytes/s, Label,"
                           "Fwd Header Length,Fwd Header Length\r\n"
                           "f1,2017-07-03 08:55:58,10,6,Infinity,BENIGN,1,2\r\n"
                           "f2,2017-07-03T08:55:59.5Z,20,17,NaN,DDoS,3,4\r\n");
  auto t = ReadTable(data, *schema);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->numeric_names,
            (std::vector<std::string>{"Flow Duration", "Bytes/s", "Fwd Header Length",
                                      "Fwd Header Length.1"}));
  EXPECT_EQ(t->numeric[0], (std::vector<double>{10, 20}));
  EXPECT_TRUE(std::isinf(t->numeric[1][0]));
  EXPECT_TRUE(std::isnan(t->numeric[1][1]));
  EXPECT_EQ(t->numeric[3], (std::vector<double>{2, 4}));
  EXPECT_EQ(t->categorical[0], (std::vector<std::string>{"6", "17"}));
  EXPECT_EQ(t->classes, (std::vector<std::string>{"BENIGN", "DDoS"}));
  EXPECT_EQ(t->labels, (std::vector<uint8_t>{0, 1}));
  EXPECT_EQ(t->ids, (std::vector<std::string>{"f1", "f2"}));
  EXPECT_EQ(t->times, (std::vector<double>{1499072158, 1499072159.5}));
}

TEST_F(FormatTest, CsvSchemaMissingColumnNamed) {
  std::string schema_path = Write("s.toml", R"(
[[columns]]
name = "a"
role = "numeric"
[[columns]]
name = "gone"
role = "numeric"
[[columns]]
name = "y"
role = "label"
)");
  auto schema = MakeSchema("csv", schema_path);
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  std::string data = Write("d.csv", "a,b,y\n1,2,0\n");
  auto t = ReadTable(data, *schema);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(),
            data + ":1: the header lacks column 'gone' named by the csv schema");
}

TEST_F(FormatTest, CsvSchemaWithoutHeader) {
  std::string schema_path = Write("s.toml", R"(
header = false
delimiter = ";"
[[columns]]
name = "host"
role = "source"
[[columns]]
name = "t"
role = "time"
[[columns]]
name = "x"
role = "numeric"
[[columns]]
name = "y"
role = "label"
)");
  auto schema = MakeSchema("csv", schema_path);
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  auto t = ReadTable(Write("d.csv", "h1;5;1.5;normal\nh2;6;2;Attack\n"), *schema);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->sources, (std::vector<std::string>{"h1", "h2"}));
  EXPECT_EQ(t->times, (std::vector<double>{5, 6}));
  EXPECT_EQ(t->labels, (std::vector<uint8_t>{0, 1}));
  EXPECT_EQ(t->classes, (std::vector<std::string>{"normal", "attack"}));
  std::string bad_time = Write("e.csv", "h1;yesterday;1;0\n");
  auto e = ReadTable(bad_time, *schema);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message().rfind(bad_time + ":1:2: field 't': 'yesterday' is not", 0), 0u)
      << e.status().message();
}

TEST_F(FormatTest, TimeFormatsAndUnnamedColumns) {
  std::string schema_path = Write("s.toml", R"(
default_role = "numeric"
[[columns]]
name = "t"
role = "time"
[[columns]]
name = "y"
role = "label"
)");
  auto schema = MakeSchema("csv", schema_path);
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  auto t = ReadTable(Write("d.csv",
                           "t,y,\n1.5,0,1\n1970-01-02,0,2\n1970-01-01T01:00:00+01:00,0,3\n"
                           "2000-02-29 12:00,1,4\n"),
                     *schema);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->times, (std::vector<double>{1.5, 86400, 0, 951825600}));
  EXPECT_EQ(t->numeric_names, std::vector<std::string>{"column_3"});
}

TEST_F(FormatTest, LabelVariants) {
  std::string schema_path = Write("s.toml", R"(
normal_classes = ["BENIGN"]
[[columns]]
name = "label"
role = "label"
)");
  auto schema = MakeSchema("csv", schema_path);
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  auto t = ReadTable(Write("d.csv",
                           "label\n0\n1\n0.0\n1.0\ntrue\nFALSE\nnormal\nattack\nBenign\nmalicious\n"
                           " yes \nno\nanomaly\n"),
                     *schema);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->labels, (std::vector<uint8_t>{0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1}));
  std::string bad = Write("e.csv", "label\n0\n2\n");
  auto e = ReadTable(bad, *schema);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message().rfind(bad + ":3:1: field 'label': '2' is not a label", 0), 0u)
      << e.status().message();
}

TEST_F(FormatTest, LabelColumnWinsOverClassColumn) {
  std::string schema_path = Write("s.toml", R"(
[[columns]]
name = "c"
role = "class"
[[columns]]
name = "l"
role = "label"
)");
  auto schema = MakeSchema("csv", schema_path);
  auto t = ReadTable(Write("d.csv", "c,l\nnormal,1\nscan,0\n"), *schema);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->classes, (std::vector<std::string>{"normal", "scan"}));
  EXPECT_EQ(t->labels, (std::vector<uint8_t>{1, 0}));
}

TEST_F(FormatTest, TargetRequiredUnlessScoring) {
  std::string schema_path = Write("s.toml", "[[columns]]\nname = \"x\"\nrole = \"numeric\"\n");
  auto schema = MakeSchema("csv", schema_path);
  ASSERT_TRUE(schema.ok());
  std::string data = Write("d.csv", "x\n1\n");
  EXPECT_FALSE(ReadTable(data, *schema).ok());
  auto t = ReadTable(data, *schema, false);
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->has_target());
}

TEST_F(FormatTest, TomlErrorsNameFileAndLine) {
  struct Case {
    std::string toml, want;
  };
  const Case cases[] = {
      {"header = \"yes\"\n", ":1:10: 'header' must be true or false"},
      {"header = true\ndelimeter = \",\"\n", ":2:13: unknown key 'delimeter'"},
      {"[[columns]]\nname = \"a\"\nrole = \"float\"\n", ":3:8: 'role' must be one of"},
      {"[[columns]]\nname = \"a\"\n", ":1:1: each [[columns]] entry needs 'name' and 'role'"},
      {"header = \n", ":1:"},  // a TOML syntax error
      {"delimiter = \";;\"\n[[columns]]\nname=\"a\"\nrole=\"label\"\n", ":1:13: 'delimiter' must"},
      {"default_role = \"label\"\n", ":1:16: 'default_role' must be"},
      {"header = false\ndefault_role = \"numeric\"\n", ": 'default_role' needs header = true"},
      {"[[columns]]\nname=\"a\"\nrole=\"label\"\n[[columns]]\nname=\"b\"\nrole=\"label\"\n",
       "both have role 'label'"},
  };
  for (const Case& c : cases) {
    std::string path = Write("bad.toml", c.toml);
    auto s = MakeSchema("csv", path);
    ASSERT_FALSE(s.ok()) << c.toml;
    EXPECT_EQ(s.status().message().rfind(path, 0), 0u) << s.status().message();
    EXPECT_NE(s.status().message().find(c.want), std::string::npos)
        << "got: " << s.status().message() << "\nwant: " << c.want;
  }
}

// The real data sets, when the shared folder is next to the checkout.
class RealDataTest : public ::testing::Test {
 protected:
  static std::string Data(const std::string& rel) {
    return std::string(VIGIL_SOURCE_DIR) + "/../shared/data/" + rel;
  }
  void RequireFile(const std::string& path) {
    if (!FileExists(path)) GTEST_SKIP() << "benchmark data not found at " << path;
  }
};

TEST_F(RealDataTest, NslKddFiles) {
  RequireFile(Data("nsl-kdd/KDDTrain+.txt"));
  auto schema = MakeSchema("nsl-kdd");
  ASSERT_TRUE(schema.ok());
  auto start = std::chrono::steady_clock::now();
  auto train = ReadTable(Data("nsl-kdd/KDDTrain+.txt"), *schema);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(train.ok()) << train.status().ToString();
  std::printf("KDDTrain+.txt: %zu rows in %.3f s\n", train->rows, seconds);
  EXPECT_EQ(train->rows, 125973u);
  EXPECT_EQ(train->numeric.size(), 38u);
  EXPECT_EQ(train->categorical.size(), 3u);
  const std::set<std::string> families = {"normal", "DoS", "Probe", "R2L", "U2R"};
  EXPECT_EQ(std::set<std::string>(train->classes.begin(), train->classes.end()), families);
  size_t attacks = std::count(train->labels.begin(), train->labels.end(), 1);
  EXPECT_EQ(attacks, 125973u - 67343u);  // the published normal count

  for (const auto& [file, rows] :
       {std::pair<const char*, size_t>{"KDDTest+.txt", 22544}, {"KDDTest-21.txt", 11850}}) {
    auto t = ReadTable(Data(std::string("nsl-kdd/") + file), *schema);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(t->rows, rows) << file;
    for (const auto& c : t->classes) ASSERT_TRUE(families.count(c)) << c;
  }
}

TEST_F(RealDataTest, UnswDev) {
  RequireFile(Data("unsw-nb15/UNSW_NB15_dev.csv"));
  auto schema = MakeSchema("unsw-nb15");
  auto t = ReadTable(Data("unsw-nb15/UNSW_NB15_dev.csv"), *schema);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->rows, 49399u);
  EXPECT_EQ(t->numeric.size(), 39u);
  std::set<std::string> classes(t->classes.begin(), t->classes.end());
  EXPECT_EQ(classes.size(), 10u);
  EXPECT_TRUE(classes.count("Normal"));
  EXPECT_TRUE(classes.count("Backdoor"));
  EXPECT_EQ(std::count(t->labels.begin(), t->labels.end(), 0), 22200);
  for (size_t i = 0; i < t->rows; ++i) {
    ASSERT_EQ(t->labels[i], t->classes[i] != "Normal") << "row " << i;
  }
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// Record-at-a-time reading: a bad record is an error for itself and leaves the table unchanged.
TEST(RowReader, ABadRecordLeavesTheTableUnchanged) {
  auto schema = MakeSchema("unsw-nb15");
  ASSERT_TRUE(schema.ok());
  RowReader reader(*schema, "stream", /*require_target=*/false);
  ASSERT_TRUE(reader.PlanFromSchema(/*include_targets=*/false).ok());
  EXPECT_LT(reader.FieldIndex("label"), 0);  // targets left out for records to score
  const auto& names = reader.field_names();
  std::vector<std::string> values(names.size(), "1");
  values[static_cast<size_t>(reader.FieldIndex("proto"))] = "tcp";
  values[static_cast<size_t>(reader.FieldIndex("service"))] = "-";
  values[static_cast<size_t>(reader.FieldIndex("state"))] = "FIN";
  auto views = [](const std::vector<std::string>& v) {
    return std::vector<std::string_view>(v.begin(), v.end());
  };
  Table t;
  reader.StartTable(&t);
  ASSERT_TRUE(reader.AddRow(1, views(values), &t).ok());
  std::vector<std::string> bad = values;
  bad.back() = "zz";  // the last numeric field
  Status s = reader.AddRow(2, views(bad), &t);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("stream:2:"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("is not a number"), std::string::npos);
  EXPECT_EQ(t.rows, 1u);
  for (const auto& col : t.numeric) EXPECT_EQ(col.size(), 1u);
  for (const auto& col : t.categorical) EXPECT_EQ(col.size(), 1u);
  EXPECT_EQ(t.ids.size(), 1u);
  ASSERT_TRUE(reader.AddRow(3, views(values), &t).ok());
  EXPECT_EQ(t.rows, 2u);
  bad.pop_back();
  EXPECT_NE(reader.AddRow(4, views(bad), &t).message().find("expected"), std::string::npos);
}

}  // namespace
}  // namespace vigil
