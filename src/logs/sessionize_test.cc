// Sessions from structured lines: by id (HDFS blocks, a capture group), by fixed and sliding time
// windows, the CSV output read back as sessions-csv, and the errors.
#include "logs/sessionize.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data/sessions.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

class SessionizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::temp_directory_path() /
             ("vigil_sessionize_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".csv"))
                .string();
    std::ofstream(path_) << "LineId,Date,Time,Content,EventId\n"
                            "1,081109,203615,Receiving block blk_1 src: /10.0.0.1:50010,E5\n"
                            "2,081109,203616.5,\"Receiving block blk_-2, size 7\",E5\n"
                            "3,081109,203620,Deleting block blk_1 file /a/blk_1 and blk_-2,E9\n"
                            "4,081109,203700,Nothing here,E1\n";
  }
  void TearDown() override { fs::remove(path_); }

  SessionizeOptions Options() const {
    SessionizeOptions o;
    o.input = path_;
    return o;
  }

  std::string path_;
};

TEST_F(SessionizeTest, ByIdEachLineJoinsEveryDistinctIdItNames) {
  SessionizeOptions o = Options();
  o.id_pattern = "hdfs";
  auto r = Sessionize(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->lines, 4u);
  EXPECT_EQ(r->lines_in_none, 1u);
  ASSERT_EQ(r->sessions.size(), 2u);
  EXPECT_EQ(r->sessions[0].id, "blk_1");
  EXPECT_EQ(r->sessions[0].keys, (std::vector<std::string>{"E5", "E9"}));  // blk_1 twice on line 3
  EXPECT_EQ(r->sessions[0].line_ids, (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(r->sessions[1].id, "blk_-2");
  EXPECT_EQ(r->sessions[1].keys, (std::vector<std::string>{"E5", "E9"}));

  // The CSV reads back as labelled-free sessions-csv.
  const std::string csv = SessionsToCsv(r->sessions);
  EXPECT_EQ(csv, "SessionId,Sequence,LineIds\nblk_1,E5 E9,1 3\nblk_-2,E5 E9,2 3\n");
  auto back = ParseSessions(csv, "s.csv", "");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->keys[1], (std::vector<std::string>{"E5", "E9"}));
  EXPECT_FALSE(back->has_labels());
}

TEST_F(SessionizeTest, ACaptureGroupNamesTheSession) {
  SessionizeOptions o = Options();
  o.id_pattern = "block (blk_-?[0-9]+)";  // only the block after "block"
  auto r = Sessionize(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->sessions.size(), 2u);
  EXPECT_EQ(r->sessions[0].id, "blk_1");
  EXPECT_EQ(r->sessions[1].line_ids, (std::vector<std::string>{"2"}));
  EXPECT_EQ(SessionIdPattern("openstack").find("instance: ("), 0u);
}

TEST_F(SessionizeTest, FixedAndSlidingTimeWindows) {
  SessionizeOptions o = Options();
  o.window_seconds = 60;
  o.time_format = "%y%m%d %H%M%S";
  auto r = Sessionize(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->sessions.size(), 2u);  // 20:36 and 20:37
  EXPECT_EQ(r->sessions[0].keys, (std::vector<std::string>{"E5", "E5", "E9"}));
  EXPECT_EQ(r->sessions[1].keys, (std::vector<std::string>{"E1"}));
  EXPECT_EQ(std::stod(r->sessions[1].id) - std::stod(r->sessions[0].id), 60);

  o.step_seconds = 30;  // every line is in two windows
  r = Sessionize(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  size_t joined = 0;
  for (const auto& s : r->sessions) joined += s.keys.size();
  EXPECT_EQ(joined, 8u);
  EXPECT_EQ(r->lines_in_none, 0u);
}

TEST_F(SessionizeTest, ErrorsNameTheProblem) {
  SessionizeOptions o = Options();
  EXPECT_FALSE(Sessionize(o).ok());  // neither id nor window
  o.id_pattern = "blk_(";
  auto r = Sessionize(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("--id-pattern"), std::string::npos);
  o.id_pattern = "hdfs";
  o.key_column = "Event";
  r = Sessionize(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no column 'Event'"), std::string::npos);
  o = Options();
  o.window_seconds = 60;
  o.time_format = "%H:%M:%S";
  o.time_columns = {"Time"};
  r = Sessionize(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(":2: time '203615' does not match '%H:%M:%S'"),
            std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace vigil
