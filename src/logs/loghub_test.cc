#include "logs/loghub.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "logs/format.h"

namespace vigil {
namespace {

const char* kLoghubDir = VIGIL_SOURCE_DIR "/../shared/data/loghub-2k";

// Drain's published grouping accuracy on the loghub 2k samples (Zhu et al., ICSE 2019).
const std::map<std::string, double>& DrainAccuracy() {
  static const std::map<std::string, double> kBars = {
      {"HDFS", 0.9975}, {"Hadoop", 0.9475},   {"Spark", 0.92},    {"Zookeeper", 0.9665},
      {"BGL", 0.9625},  {"HPC", 0.887},       {"Windows", 0.997}, {"Linux", 0.69},
      {"Apache", 1.0},  {"OpenStack", 0.7325}};
  return kBars;
}

void ExpectBars(bool presets) {
  if (!std::filesystem::is_directory(kLoghubDir)) {
    GTEST_SKIP() << "loghub data not found at " << kLoghubDir << " (../shared/data/loghub-2k)";
  }
  LoghubBenchOptions o;
  o.dir = kLoghubDir;
  o.use_presets = presets;
  o.repeats = 1;
  auto results = RunLoghubBench(o);
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  double sum = 0;
  size_t n = 0;
  for (const LoghubResult& r : *results) {
    auto bar = DrainAccuracy().find(r.system);
    if (bar == DrainAccuracy().end()) continue;
    EXPECT_GE(r.accuracy, bar->second) << r.system << " with format " << r.format;
    EXPECT_EQ(r.malformed, 0u) << r.system;
    EXPECT_EQ(r.preset, presets) << r.system;
    sum += r.accuracy;
    ++n;
  }
  ASSERT_EQ(n, DrainAccuracy().size()) << "some of the 10 systems are missing";
  EXPECT_GE(sum / static_cast<double>(n), 0.93);
}

TEST(LoghubBenchTest, PresetsMeetDrainsAccuracy) { ExpectBars(true); }

TEST(LoghubBenchTest, DetectedFormatsMeetDrainsAccuracy) { ExpectBars(false); }

TEST(LoghubBenchTest, PresetsAreValidSpecs) {
  for (const LoghubPreset& p : LoghubPresets()) {
    EXPECT_TRUE(LogFormat::Parse(p.format).ok()) << p.system;
  }
  EXPECT_NE(FindLoghubPreset("HDFS"), nullptr);
  EXPECT_EQ(FindLoghubPreset("NoSuchSystem"), nullptr);
}

TEST(LoghubBenchTest, MissingDirectoryIsNotFound) {
  LoghubBenchOptions o;
  o.dir = "/nonexistent/loghub";
  EXPECT_EQ(RunLoghubBench(o).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace vigil
