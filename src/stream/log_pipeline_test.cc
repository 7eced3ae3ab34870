// LogPipeline without sockets: a state mined here from a few lines and a deeplog bundle whose
// next-symbol distribution is set by hand (fc0's bias; zero weights), so every verdict is known:
// expected keys pass, an improbable key alerts with the expected top-g and the session's raw lines,
// a new template alerts twice (as a template and as an unknown key), an unexpected end alerts when
// the session goes idle, and malformed lines and frames are counted and dead-lettered. Bounds:
// sessions evicted, raw lines dropped, parser reset after too many new templates; time windows.
#include "stream/log_pipeline.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "bundle/bundle.h"
#include "core/file.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

class LogPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vigil_log_pipeline_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    // The state: three templates, E1 "job <*> started", E2 "... finished", E3 "... failed badly".
    auto format = LogFormat::Parse("<Level> <Content>");
    auto parser = LogParser::Create(*format, MaskOptions{}, MinerOptions{});
    for (const char* l : {"INFO job_1 started", "INFO job_1 finished", "WARN job_1 failed badly"}) {
      parser->Parse(l);
    }
    ASSERT_EQ(parser->miner().size(), 3u);
    nlohmann::json state = {{"kind", "vigil-logs-state"},
                            {"version", 1},
                            {"format", "<Level> <Content>"},
                            {"parser", parser->StateJson()}};
    ASSERT_TRUE(WriteFileAtomic(Path("state.json"), state.dump()).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // Symbols: start, end, unknown, E1, E2, E3. The distribution ignores the window.
  std::string Bundle(float end_bias, const std::string& name = "m.vigil") {
    vigil::Bundle b;
    const int64_t v = 6, h = 4;
    b.metadata["model"] = {{"type", "deeplog"},
                           {"window", 3},
                           {"top_g", 3},
                           {"vocabulary",
                            {{"keys", {"E1", "E2", "E3"}},
                             {"start", 0},
                             {"end", 1},
                             {"unknown", 2},
                             {"first_key", 3}}},
                           {"lstm", {{"input", v}, {"hidden", h}, {"layers", 1}}}};
    b.metadata["score"] = {{"threshold", 2.0}};
    auto add = [&](const std::string& n, std::vector<int64_t> shape, std::vector<float> data) {
      int64_t size = 1;
      for (int64_t d : shape) size *= d;
      if (data.empty()) data.assign(static_cast<size_t>(size), 0.0f);
      b.tensors.push_back({n, shape, data});
    };
    add("lstm.weight_ih_l0", {4 * h, v}, {});
    add("lstm.weight_hh_l0", {4 * h, h}, {});
    add("lstm.bias_ih_l0", {4 * h}, {});
    add("lstm.bias_hh_l0", {4 * h}, {});
    add("fc0.weight", {v, h}, {});
    add("fc0.bias", {v}, {-9, end_bias, -9, 5, 5, -6});
    EXPECT_TRUE(WriteBundle(Path(name), b).ok());
    return Path(name);
  }

  std::unique_ptr<LogPipeline> Make(LogPipelineOptions o) {
    if (o.model.empty()) o.model = Bundle(4.5f);
    o.state = Path("state.json");
    if (o.session_pattern.empty() && o.session_window_s == 0) o.session_pattern = "job_[0-9]+";
    auto p = LogPipeline::Create(
        o, [this](const std::string& a) { alerts_.push_back(nlohmann::json::parse(a)); },
        [this](const std::string& d) { dead_.push_back(nlohmann::json::parse(d)); });
    EXPECT_TRUE(p.ok()) << p.status().message();
    if (!p.ok()) return nullptr;
    input_ = (*p)->AddInput("test-input");
    return std::move(*p);
  }

  LogLine Line(const std::string& text, uint64_t pos = 0, double time = 0) {
    LogLine l;
    l.input = input_;
    l.position = pos;
    l.text = text;
    l.time = time;
    return l;
  }

  fs::path dir_;
  uint32_t input_ = 0;
  std::vector<nlohmann::json> alerts_, dead_;
};

TEST_F(LogPipelineTest, UnexpectedKeyAlertsWithExpectedTopGAndRawLines) {
  auto p = Make({});
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->format_spec(), "<Level> <Content>");
  p->Process(Line("INFO job_7 started", 1), 100);
  p->Process(Line("INFO job_7 finished", 2), 100);
  EXPECT_TRUE(alerts_.empty());
  p->Process(Line("INFO job_7 started", 3), 100);
  p->Process(Line("WARN job_7 failed badly", 4), 100);
  ASSERT_EQ(alerts_.size(), 1u);
  const nlohmann::json& a = alerts_[0];
  EXPECT_EQ(a["type"], "log_session");
  EXPECT_EQ(a["session"], "job_7");
  EXPECT_EQ(a["key"], "E3");
  EXPECT_EQ(a["template"], "job_<*> failed badly");
  EXPECT_EQ(a["position"], 4);
  EXPECT_EQ(a["unknown_key"], false);
  EXPECT_EQ(a["new_template"], false);
  EXPECT_EQ(a["input"], "test-input");
  EXPECT_LT(a["probability"].get<double>(), 1e-4);
  // Expected: E1, E2 and the end (about 0.38, 0.38, 0.23), most probable first, with templates.
  ASSERT_EQ(a["expected"].size(), 3u);
  double total = 0;
  for (const auto& e : a["expected"]) total += e["probability"].get<double>();
  EXPECT_NEAR(total, 1.0, 1e-3);
  EXPECT_EQ(a["expected"][0].value("template", ""), "job_<*> started");
  EXPECT_EQ(a["expected"][1].value("key", ""), "E2");
  EXPECT_EQ(a["expected"][2].value("key", ""), "<end>");
  EXPECT_FALSE(a["expected"][2].contains("template"));
  ASSERT_EQ(a["lines"].size(), 4u);
  EXPECT_EQ(a["lines"][0]["text"], "INFO job_7 started");
  EXPECT_EQ(a["lines"][3]["text"], "WARN job_7 failed badly");
  EXPECT_EQ(a["lines"][3]["position"], 4);
  // A session alerts once; later unexpected symbols are counted.
  p->Process(Line("WARN job_7 failed badly", 5), 100);
  EXPECT_EQ(alerts_.size(), 1u);
  EXPECT_EQ(p->counters().unexpected, 2u);
  EXPECT_EQ(p->counters().keys_judged, 5u);
}

TEST_F(LogPipelineTest, NewTemplatesAndMalformedInputAreSignalsAndDeadLetters) {
  auto p = Make({});
  ASSERT_NE(p, nullptr);
  p->Process(Line("INFO job_9 exploded into many small pieces", 1), 100);
  ASSERT_EQ(alerts_.size(), 2u);
  EXPECT_EQ(alerts_[0]["type"], "new_template");
  EXPECT_EQ(alerts_[0]["template_id"], 4);
  EXPECT_EQ(alerts_[1]["type"], "log_session");
  EXPECT_EQ(alerts_[1]["unknown_key"], true);
  EXPECT_EQ(alerts_[1]["new_template"], true);
  EXPECT_EQ(alerts_[1]["key"], "E4");
  // The same new template again: counted, not reported again as a template.
  p->Process(Line("INFO job_10 exploded into many small pieces", 2), 100);
  EXPECT_EQ(p->counters().new_templates, 1u);
  EXPECT_EQ(p->counters().new_template_lines, 2u);
  EXPECT_EQ(alerts_.size(), 3u);  // job_10's own session alert

  p->Process(Line("garbage", 3), 100);  // no "<Level> <Content>" split: malformed, still parsed
  LogLine frame = Line("\x01\x02 not syslog", 4);
  frame.error = "syslog: no PRI";
  p->Process(frame, 100);
  EXPECT_EQ(p->counters().malformed_lines, 1u);
  EXPECT_EQ(p->counters().malformed_frames, 1u);
  EXPECT_EQ(p->counters().lines, 3u);  // frames are not parsed
  EXPECT_EQ(p->counters().lines_without_session, 1u);
  ASSERT_EQ(dead_.size(), 2u);
  EXPECT_EQ(dead_[0]["record"], "garbage");
  EXPECT_EQ(dead_[0]["input"], "test-input");
  EXPECT_NE(dead_[0]["error"].get<std::string>().find("header format"), std::string::npos);
  EXPECT_EQ(dead_[1]["error"], "syslog: no PRI");
  EXPECT_EQ(dead_[1]["bytes"], frame.text.size());
  EXPECT_EQ(p->counters().dead_letters, 2u);
}

TEST_F(LogPipelineTest, IdleSessionsAreJudgedAtTheirEnd) {
  LogPipelineOptions o;
  o.model = Bundle(-8);  // the model never expects a session to stop
  o.session_idle_s = 10;
  auto p = Make(o);
  ASSERT_NE(p, nullptr);
  p->Process(Line("INFO job_1 started"), 100);
  p->Process(Line("INFO job_2 started"), 105);
  p->Sweep(109);
  EXPECT_TRUE(alerts_.empty());
  EXPECT_EQ(p->open_sessions(), 2u);
  p->Sweep(111);  // job_1 idle 11 s: ended, its end unexpected
  ASSERT_EQ(alerts_.size(), 1u);
  EXPECT_EQ(alerts_[0]["session"], "job_1");
  EXPECT_EQ(alerts_[0]["key"], "<end>");
  EXPECT_EQ(alerts_[0]["position"], 2);
  EXPECT_EQ(p->open_sessions(), 1u);
  p->CloseAll(112);
  EXPECT_EQ(alerts_.size(), 2u);
  EXPECT_EQ(p->counters().ends_judged, 2u);
  EXPECT_EQ(p->counters().sessions_closed, 2u);

  // With a model that expects the end, ends pass.
  alerts_.clear();
  LogPipelineOptions ok;
  ok.model = Bundle(5, "ok.vigil");
  auto q = Make(ok);
  q->Process(Line("INFO job_1 started"), 100);
  q->CloseAll(200);
  EXPECT_TRUE(alerts_.empty());
  EXPECT_EQ(q->counters().ends_judged, 1u);
}

TEST_F(LogPipelineTest, SessionsAndRawLinesAreBounded) {
  LogPipelineOptions o;
  o.max_sessions = 2;
  o.session_lines = 2;
  auto p = Make(o);
  ASSERT_NE(p, nullptr);
  p->Process(Line("INFO job_1 started", 1), 100);
  p->Process(Line("INFO job_2 started", 2), 101);
  p->Process(Line("INFO job_3 started", 3), 102);  // evicts job_1, unjudged
  EXPECT_EQ(p->counters().sessions_evicted, 1u);
  EXPECT_EQ(p->open_sessions(), 2u);
  p->Process(Line("INFO job_3 finished", 4), 103);
  p->Process(Line("WARN job_3 failed badly", 5), 104);
  ASSERT_EQ(alerts_.size(), 1u);
  ASSERT_EQ(alerts_[0]["lines"].size(), 2u);  // the last two of three
  EXPECT_EQ(alerts_[0]["lines"][0]["position"], 4);
  EXPECT_EQ(alerts_[0]["lines_dropped"], 1);
  EXPECT_EQ(p->counters().raw_lines_dropped, 1u);
  EXPECT_EQ(p->counters().ends_judged, 0u);

  LogPipelineOptions few;
  few.max_new_templates = 2;
  alerts_.clear();
  auto q = Make(few);
  for (int i = 0; i < 4; ++i) {
    q->Process(Line("INFO job_1 novel" + std::to_string(i) + "x thing of kind " +
                    std::string(1, static_cast<char>('a' + i)) + "zz"),
               100);
  }
  EXPECT_GE(q->counters().parser_resets, 1u);
  EXPECT_EQ(q->counters().new_template_lines, 4u);
}

TEST_F(LogPipelineTest, TimeWindowsAndLineIdsAcrossSessions) {
  LogPipelineOptions o;
  o.session_window_s = 60;
  auto p = Make(o);
  ASSERT_NE(p, nullptr);
  p->Process(Line("INFO job_1 started", 1, 1700000001), 0);
  p->Process(Line("INFO job_1 finished", 2, 1700000059), 0);
  p->Process(Line("WARN job_1 failed badly", 3, 1700000061), 0);
  ASSERT_EQ(alerts_.size(), 1u);
  // 1700000001 is in the window [1699999980, 1700000040), the others in the next one.
  EXPECT_EQ(alerts_[0]["session"], "1700000040");
  EXPECT_EQ(alerts_[0]["lines"].size(), 2u);
  EXPECT_EQ(p->open_sessions(), 2u);

  // A line naming two ids joins both sessions.
  alerts_.clear();
  auto q = Make({});
  q->Process(Line("WARN job_1 failed badly job_2"), 0);
  EXPECT_EQ(q->open_sessions(), 2u);
  EXPECT_EQ(q->counters().keys_judged, 2u);
}

TEST_F(LogPipelineTest, HdfsPresetFindsWhatItsRegexFinds) {
  const std::string line = "INFO blk_-x blk_12 blk_blk_3 blk_-5blk_6 blk_12 blk_";
  for (const char* pattern : {"hdfs", "(blk_-?[0-9]+)"}) {  // fast path, std::regex
    LogPipelineOptions o;
    o.session_pattern = pattern;
    auto p = Make(o);
    ASSERT_NE(p, nullptr);
    p->Process(Line(line), 0);
    EXPECT_EQ(p->open_sessions(), 4u) << pattern;  // blk_12, blk_3, blk_-5, blk_6
    EXPECT_EQ(p->counters().keys_judged, 4u) << pattern;
    p->Process(Line("INFO blk_12 started"), 0);  // the same session as before
    EXPECT_EQ(p->open_sessions(), 4u) << pattern;
  }
}

TEST_F(LogPipelineTest, CreateErrorsNameTheProblem) {
  LogPipelineOptions o;
  o.model = Bundle(5);
  o.state = Path("missing.json");
  o.session_pattern = "hdfs";
  auto r = LogPipeline::Create(o, {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("missing.json"), std::string::npos);
  o.state = Path("state.json");
  o.session_pattern = "(";
  r = LogPipeline::Create(o, {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("--session-pattern"), std::string::npos);
  o.session_pattern = "";
  r = LogPipeline::Create(o, {}, {});
  ASSERT_FALSE(r.ok());
  o.session_pattern = "hdfs";
  o.format = "<Content";
  EXPECT_FALSE(LogPipeline::Create(o, {}, {}).ok());
  o.format = "";
  o.state = dir_.string();  // a directory holding one state
  EXPECT_TRUE(LogPipeline::Create(o, {}, {}).ok());
}

}  // namespace
}  // namespace vigil
