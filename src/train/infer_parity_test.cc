// Parity of the detection plane's Scorer (src/infer/, no LibTorch) with the training plane's
// LibTorch model on real data: for every model family, the same bundle scores the same file with a
// max abs difference of at most 1e-5 (relative for autoencoder scores above 1, whose float32 sums
// carry about 1e-7 relative rounding) and the same predicted class on every row.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/file.h"
#include "data/format.h"
#include "data/synth.h"
#include "infer/encode.h"
#include "infer/scorer.h"
#include "train/scoring.h"
#include "train/trainer.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
const std::string kData = std::string(VIGIL_SOURCE_DIR) + "/../shared/data";

class InferParity : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vigil_parity_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Trains a small model, then scores `test` with both planes and compares.
  void Check(TrainConfig c, const std::string& test, size_t min_rows) {
    c.out = (dir_ / (c.model + "-" + c.task + ".vigil")).string();
    c.threads = 1;
    c.quiet = true;
    auto summary = Train(c);
    ASSERT_TRUE(summary.ok()) << summary.status().ToString();
    auto torch_model = LoadModel(c.out);
    ASSERT_TRUE(torch_model.ok()) << torch_model.status().ToString();
    auto table = ReadTable(test, torch_model->schema, /*require_target=*/false);
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    ASSERT_GE(table->rows, min_rows);
    auto want = ScoreTable(*torch_model, *table);
    ASSERT_TRUE(want.ok());

    auto scorer = Scorer::Load(c.out);
    ASSERT_TRUE(scorer.ok()) << scorer.status().ToString();
    auto x = EncodeTable(*scorer, *table);
    ASSERT_TRUE(x.ok()) << x.status().ToString();
    Workspace ws;
    ScoreBatch got;
    // Batches of 256 and of 1 (the gemv path) must both agree.
    std::vector<float> scores;
    std::vector<int> preds;
    const size_t w = scorer->row_width(), batch = 256;
    for (size_t r = 0; r < table->rows; r += batch) {
      size_t n = std::min(batch, table->rows - r);
      scorer->Score(x->data() + r * w, n, &ws, &got);
      scores.insert(scores.end(), got.score.begin(), got.score.end());
      preds.insert(preds.end(), got.pred.begin(), got.pred.end());
    }
    double max_diff = 0;
    size_t class_mismatch = 0;
    for (size_t r = 0; r < table->rows; ++r) {
      const double a = want->attack_score[r], b = scores[r];
      const double diff = std::abs(a - b) / std::max(1.0, std::abs(a));
      max_diff = std::max(max_diff, diff);
      class_mismatch += want->pred[r] != preds[r];
      if (r % 97 == 0) {  // a sample through the one-record path
        scorer->Score(x->data() + r * w, 1, &ws, &got);
        EXPECT_LE(std::abs(got.score[0] - a) / std::max(1.0, std::abs(a)), 1e-5) << r;
        EXPECT_EQ(got.pred[0], want->pred[r]) << r;
      }
    }
    std::printf("[ parity ] %s/%s on %s: %zu rows, max score difference %.3g, %zu class mismatches\n",
                c.model.c_str(), c.task.c_str(), fs::path(test).filename().c_str(), table->rows,
                max_diff, class_mismatch);
    EXPECT_LE(max_diff, 1e-5);
    EXPECT_EQ(class_mismatch, 0u);
  }

  fs::path dir_;
};

TEST_F(InferParity, NslKddEveryFamily) {
  const std::string train = kData + "/nsl-kdd/KDDTrain+_20Percent.txt";
  const std::string test = kData + "/nsl-kdd/KDDTest+.txt";
  if (!FileExists(train)) GTEST_SKIP() << "NSL-KDD not found under " << kData;
  for (const char* model : {"mlp", "autoencoder", "mlp-ae"}) {
    TrainConfig c;
    c.format = "nsl-kdd";
    c.train = train;
    c.model = model;
    c.epochs = 2;
    Check(c, test, 20000);
  }
  TrainConfig multi;
  multi.format = "nsl-kdd";
  multi.train = train;
  multi.model = "mlp";
  multi.task = "multiclass";
  multi.activation = "tanh";
  multi.epochs = 2;
  Check(multi, test, 20000);
}

TEST_F(InferParity, UnswNb15MlpWithBins) {
  const std::string dev = kData + "/unsw-nb15/UNSW_NB15_dev.csv";
  if (!FileExists(dev)) GTEST_SKIP() << "UNSW-NB15 not found under " << kData;
  TrainConfig c;
  c.format = "unsw-nb15";
  c.train = dev;
  c.model = "mlp";
  c.epochs = 1;
  Check(c, dev, 40000);
}

// No shared data set has the source and time columns an lstm needs; the generated sequence set
// stands in.
TEST_F(InferParity, LstmOnTheGeneratedSequenceSet) {
  const std::string csv = (dir_ / "seq.csv").string(), schema = (dir_ / "seq.toml").string();
  SynthOptions o;
  o.hosts = 60;
  ASSERT_TRUE(WriteSequenceDataset(csv, schema, o).ok());
  TrainConfig c;
  c.format = "csv";
  c.schema = schema;
  c.train = csv;
  c.model = "lstm";
  c.epochs = 2;
  c.lstm_hidden = 16;
  Check(c, csv, 3000);
}

}  // namespace
}  // namespace vigil
