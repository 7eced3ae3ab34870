// Scorer against a naive double-precision reference written here from docs/bundle.md, on bundles
// with random weights built in the test (the LibTorch parity test on real data is in
// src/train/infer_parity_test.cc).
#include "infer/scorer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "data/schema_json.h"
#include "infer/parallel.h"

namespace vigil {
namespace {

struct Net {
  std::string type = "mlp";
  std::vector<size_t> dims;  // dense stack: in, hidden..., out
  std::string activation = "relu";
  size_t window = 1, lstm_hidden = 0, lstm_layers = 0;
};

Table SmallTable() {
  Table t;
  t.rows = 6;
  t.numeric_names = {"a", "b"};
  t.numeric = {{0, 1, 2, 3, 4, 100}, {1, 1, 2, 2, 3, 3}};
  t.categorical_names = {"proto"};
  t.categorical = {{"tcp", "udp", "tcp", "icmp", "tcp", "udp"}};
  return t;
}

// A bundle with random weights; `input_dim` comes from the preprocessing of SmallTable (2 numeric +
// 4 one-hot = 6).
Bundle MakeBundle(const Net& net, std::vector<std::string> classes, uint32_t seed) {
  Preprocessor prep = Preprocessor::Fit(SmallTable()).value();
  const size_t d = prep.output_dim();
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  Bundle b;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, bool positive = false) {
    BundleTensor t;
    t.name = name;
    t.shape = shape;
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    for (int64_t i = 0; i < n; ++i) {
      float v = normal(rng);
      t.data.push_back(positive ? 0.5f + std::abs(v) : v);
    }
    b.tensors.push_back(std::move(t));
  };
  size_t width = d;
  for (size_t k = 0; k < net.lstm_layers; ++k) {
    const auto h4 = static_cast<int64_t>(4 * net.lstm_hidden);
    const std::string s = "_l" + std::to_string(k);
    add("lstm.weight_ih" + s, {h4, static_cast<int64_t>(width)});
    add("lstm.weight_hh" + s, {h4, static_cast<int64_t>(net.lstm_hidden)});
    add("lstm.bias_ih" + s, {h4});
    add("lstm.bias_hh" + s, {h4});
    width = net.lstm_hidden;
  }
  nlohmann::json layers = nlohmann::json::array();
  std::vector<size_t> dims = net.dims;
  dims.front() = width;
  if (net.type == "autoencoder") dims.back() = d;
  for (size_t k = 0; k + 1 < dims.size(); ++k) {
    const std::string name = "fc" + std::to_string(k);
    layers.push_back({{"name", name},
                      {"in", dims[k]},
                      {"out", dims[k + 1]},
                      {"activation", k + 2 == dims.size() ? "none" : net.activation}});
    add(name + ".weight", {static_cast<int64_t>(dims[k + 1]), static_cast<int64_t>(dims[k])});
    add(name + ".bias", {static_cast<int64_t>(dims[k + 1])});
  }
  if (net.type == "autoencoder") add("score.error_scale", {static_cast<int64_t>(d)}, true);
  nlohmann::json model = {{"type", net.type}, {"input_dim", d}, {"layers", layers}};
  if (net.type == "lstm") {
    model["window"] = net.window;
    model["lstm"] = {{"input", d}, {"hidden", net.lstm_hidden}, {"layers", net.lstm_layers}};
  }
  Schema schema;
  schema.format = "csv";
  schema.header = true;
  schema.columns = {{"a", ColumnRole::kNumeric},
                    {"b", ColumnRole::kNumeric},
                    {"proto", ColumnRole::kCategorical}};
  b.metadata = {{"kind", "vigil-model"},
                {"model", model},
                {"task", classes.size() == 2 ? "binary" : "multiclass"},
                {"classes", classes},
                {"normal_class", 0},
                {"score", {{"threshold", 0.4}}},
                {"preprocessing", prep.ToJson()},
                {"schema", SchemaToJson(schema)}};
  b.sha256 = std::string(64, 'a');
  return b;
}

// ---- Reference, straight from the documented formulas, in double ----

double Act(const std::string& a, double x) {
  if (a == "relu") return x > 0 ? x : 0;
  if (a == "tanh") return std::tanh(x);
  if (a == "sigmoid") return 1 / (1 + std::exp(-x));
  if (a == "leaky_relu") return x > 0 ? x : 0.01 * x;
  if (a == "elu") return x > 0 ? x : std::expm1(x);
  return x;
}

const BundleTensor& T(const Bundle& b, const std::string& name) { return *b.Find(name); }

std::vector<double> DenseRef(const Bundle& b, std::vector<double> x) {
  const auto& layers = b.metadata["model"]["layers"];
  for (const auto& l : layers) {
    const std::string name = l["name"];
    const auto& w = T(b, name + ".weight");
    const auto& bias = T(b, name + ".bias");
    size_t in = l["in"], out = l["out"];
    std::vector<double> y(out);
    for (size_t o = 0; o < out; ++o) {
      double s = bias.data[o];
      for (size_t i = 0; i < in; ++i) s += w.data[o * in + i] * x[i];
      y[o] = Act(l["activation"], s);
    }
    x = y;
  }
  return x;
}

std::vector<double> LstmRef(const Bundle& b, const std::vector<double>& window, size_t steps,
                            size_t d) {
  const auto& m = b.metadata["model"]["lstm"];
  size_t h = m["hidden"], layers = m["layers"];
  std::vector<std::vector<double>> seq(steps);
  for (size_t t = 0; t < steps; ++t) seq[t].assign(window.begin() + t * d, window.begin() + (t + 1) * d);
  for (size_t k = 0; k < layers; ++k) {
    const std::string s = "_l" + std::to_string(k);
    const auto &wi = T(b, "lstm.weight_ih" + s), &wh = T(b, "lstm.weight_hh" + s);
    const auto &bi = T(b, "lstm.bias_ih" + s), &bh = T(b, "lstm.bias_hh" + s);
    std::vector<double> hs(h, 0), cs(h, 0);
    const size_t in = seq[0].size();
    for (size_t t = 0; t < steps; ++t) {
      std::vector<double> g(4 * h);
      for (size_t j = 0; j < 4 * h; ++j) {
        double v = bi.data[j] + bh.data[j];
        for (size_t i = 0; i < in; ++i) v += wi.data[j * in + i] * seq[t][i];
        for (size_t i = 0; i < h; ++i) v += wh.data[j * h + i] * hs[i];
        g[j] = v;
      }
      for (size_t j = 0; j < h; ++j) {
        auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
        cs[j] = sig(g[h + j]) * cs[j] + sig(g[j]) * std::tanh(g[2 * h + j]);
        hs[j] = sig(g[3 * h + j]) * std::tanh(cs[j]);
      }
      seq[t] = hs;
    }
  }
  return seq.back();
}

// Attack score of one row per the documented rules.
double ScoreRef(const Bundle& b, const std::vector<double>& x, size_t steps, size_t d) {
  const std::string type = b.metadata["model"]["type"];
  if (type == "autoencoder") {
    std::vector<double> y = DenseRef(b, x);
    const auto& scale = T(b, "score.error_scale");
    double s = 0;
    for (size_t i = 0; i < d; ++i) s += (y[i] - x[i]) * (y[i] - x[i]) / scale.data[i];
    return s / static_cast<double>(d);
  }
  std::vector<double> z = DenseRef(b, type == "lstm" ? LstmRef(b, x, steps, d) : x);
  double mx = *std::max_element(z.begin(), z.end()), sum = 0;
  for (double v : z) sum += std::exp(v - mx);
  return 1 - std::exp(z[0] - mx) / sum;
}

void CheckAgainstReference(const Net& net, std::vector<std::string> classes) {
  Bundle bundle = MakeBundle(net, classes, 7);
  Bundle copy = bundle;
  auto scorer = Scorer::FromBundle(std::move(copy));
  ASSERT_TRUE(scorer.ok()) << scorer.status().message();
  const size_t d = scorer->input_dim(), w = scorer->row_width();
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  const size_t rows = 37;
  std::vector<float> x(rows * w);
  for (float& v : x) v = normal(rng);
  Workspace ws;
  ScoreBatch batch, one;
  scorer->Score(x.data(), rows, &ws, &batch);
  ASSERT_EQ(batch.score.size(), rows);
  for (size_t r = 0; r < rows; ++r) {
    std::vector<double> xr(x.begin() + r * w, x.begin() + (r + 1) * w);
    const double want = ScoreRef(bundle, xr, scorer->window(), d);
    EXPECT_NEAR(batch.score[r], want, 1e-5 * std::max(1.0, std::abs(want))) << net.type << " row " << r;
    // Batch of one (the gemv path) agrees with the batched path.
    scorer->Score(x.data() + r * w, 1, &ws, &one);
    EXPECT_NEAR(one.score[0], batch.score[r], 1e-5 * std::max(1.0f, std::abs(batch.score[r])));
    EXPECT_EQ(one.pred[0], batch.pred[r]);
    if (scorer->binary() || scorer->autoencoder()) {
      EXPECT_EQ(batch.pred[r], batch.score[r] > 0.4 ? 1 : 0);
    } else {
      const float* p = batch.probs.data() + r * classes.size();
      EXPECT_EQ(batch.pred[r], std::max_element(p, p + classes.size()) - p);
    }
  }
}

TEST(Scorer, MlpMatchesReference) {
  CheckAgainstReference({"mlp", {0, 16, 8, 2}, "relu"}, {"normal", "attack"});
  CheckAgainstReference({"mlp", {0, 12, 4}, "tanh"}, {"normal", "DoS", "Probe", "R2L"});
  CheckAgainstReference({"mlp", {0, 5, 5, 2}, "elu"}, {"normal", "attack"});
  CheckAgainstReference({"mlp", {0, 5, 3}, "leaky_relu"}, {"normal", "a", "b"});
}

TEST(Scorer, AutoencoderMatchesReference) {
  CheckAgainstReference({"autoencoder", {0, 4, 2, 4, 0}, "sigmoid"}, {"normal", "attack"});
}

TEST(Scorer, LstmMatchesReference) {
  Net one{"lstm", {0, 2}, "relu", 4, 5, 1};
  CheckAgainstReference(one, {"normal", "attack"});
  Net two{"lstm", {0, 6, 3}, "tanh", 3, 4, 2};
  CheckAgainstReference(two, {"normal", "x", "y"});
}

TEST(Scorer, RejectsInconsistentBundles) {
  Bundle good = MakeBundle({"mlp", {0, 4, 2}, "relu"}, {"normal", "attack"}, 1);
  {
    Bundle b = good;
    b.tensors[0].shape = {3, 6};
    b.tensors[0].data.resize(18);
    auto s = Scorer::FromBundle(b);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find("'fc0.weight' has the wrong shape"), std::string::npos);
  }
  {
    Bundle b = good;
    b.metadata["model"]["layers"][0]["activation"] = "swish";
    auto s = Scorer::FromBundle(b);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find("swish"), std::string::npos);
  }
  {
    Bundle b = good;
    b.metadata["model"]["type"] = "transformer";
    EXPECT_EQ(Scorer::FromBundle(b).status().code(), StatusCode::kUnsupported);
  }
  {
    Bundle b = good;
    b.metadata.erase("preprocessing");
    EXPECT_EQ(Scorer::FromBundle(b).status().code(), StatusCode::kCorruption);
  }
  {
    Bundle b = good;
    b.tensors.pop_back();  // fc1.bias
    auto s = Scorer::FromBundle(b);
    EXPECT_NE(s.status().message().find("no tensor 'fc1.bias'"), std::string::npos);
  }
}

// Attack log-odds log((1 - p0) / p0) of an mlp row.
double LogOddsRef(const Bundle& b, const std::vector<double>& x) {
  std::vector<double> z = DenseRef(b, x);
  double mx = *std::max_element(z.begin(), z.end()), sum = 0;
  for (double v : z) sum += std::exp(v - mx);
  const double p0 = std::exp(z[0] - mx) / sum;
  return std::log((1 - p0) / p0);
}

// Gradient x input of the attack log-odds against central finite differences along each input.
TEST(Scorer, MlpExplanationIsGradientTimesInput) {
  Bundle b = MakeBundle({"mlp", {0, 8, 2}, "tanh"}, {"normal", "attack"}, 11);
  auto scorer = Scorer::FromBundle(b);
  ASSERT_TRUE(scorer.ok());
  // Inputs: a, b (numeric), proto one-hot (icmp, tcp, udp, other in some order).
  std::vector<float> x = {1.5f, -0.7f, 0, 1, 0, 0};
  Workspace ws;
  std::vector<Reason> reasons = scorer->Explain(x.data(), 10, &ws);
  std::vector<double> per_column(3, 0);
  for (size_t i = 0; i < x.size(); ++i) {
    std::vector<double> hi(x.begin(), x.end()), lo = hi;
    hi[i] += 1e-3;
    lo[i] -= 1e-3;
    double grad = (LogOddsRef(b, hi) - LogOddsRef(b, lo)) / 2e-3;
    per_column[i < 2 ? i : 2] += grad * x[i];
  }
  ASSERT_FALSE(reasons.empty());
  for (const Reason& r : reasons) {
    EXPECT_GT(r.contribution, 0);
    EXPECT_NEAR(r.contribution, per_column[r.column], 1e-4);
  }
  for (size_t i = 1; i < reasons.size(); ++i)
    EXPECT_GE(reasons[i - 1].contribution, reasons[i].contribution);
  EXPECT_EQ(scorer->column_names(), (std::vector<std::string>{"a", "b", "proto"}));
}

TEST(Scorer, AutoencoderExplanationSplitsTheScore) {
  Bundle b = MakeBundle({"autoencoder", {0, 3, 0}, "relu"}, {"normal", "attack"}, 5);
  auto scorer = Scorer::FromBundle(b);
  ASSERT_TRUE(scorer.ok());
  std::vector<float> x = {4.0f, -2.0f, 1, 0, 0, 0};
  Workspace ws;
  ScoreBatch out;
  scorer->Score(x.data(), 1, &ws, &out);
  std::vector<Reason> reasons = scorer->Explain(x.data(), 10, &ws);
  double total = 0;
  for (const Reason& r : reasons) total += r.contribution;
  // Every column's squared error is positive here, so the reasons add up to the whole score.
  EXPECT_EQ(reasons.size(), 3u);
  EXPECT_NEAR(total, out.score[0], 1e-4 * out.score[0]);
}

TEST(Scorer, LstmExplanationIsOcclusionOfTheLastStep) {
  Bundle b = MakeBundle({"lstm", {0, 2}, "relu", 3, 4, 1}, {"normal", "attack"}, 9);
  auto scorer = Scorer::FromBundle(b);
  ASSERT_TRUE(scorer.ok());
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> x(scorer->row_width());
  for (float& v : x) v = normal(rng);
  Workspace ws;
  std::vector<Reason> reasons = scorer->Explain(x.data(), 10, &ws);
  const double base = ScoreRef(b, std::vector<double>(x.begin(), x.end()), 3, 6);
  for (const Reason& r : reasons) {
    std::vector<double> occ(x.begin(), x.end());
    for (size_t i = 0; i < 6; ++i) {
      size_t col = i < 2 ? i : 2;
      if (col == r.column) occ[2 * 6 + i] = 0;
    }
    EXPECT_NEAR(r.contribution, base - ScoreRef(b, occ, 3, 6), 1e-5);
  }
}

TEST(ParallelScorer, SplitsBatchesAcrossThreadsWithIdenticalResults) {
  Bundle b = MakeBundle({"mlp", {0, 32, 16, 3}, "relu"}, {"normal", "x", "y"}, 4);
  auto scorer = Scorer::FromBundle(b);
  ASSERT_TRUE(scorer.ok());
  std::mt19937 rng(2);
  std::normal_distribution<float> normal;
  std::vector<float> x(1000 * scorer->row_width());
  for (float& v : x) v = normal(rng);
  Workspace ws;
  for (int threads : {1, 2, 3}) {
    ParallelScorer par(*scorer, threads);
    EXPECT_EQ(par.threads(), threads);
    for (size_t rows : {1u, 37u, 64u, 100u, 1000u}) {
      ScoreBatch want, got;
      scorer->Score(x.data(), rows, &ws, &want);
      par.Score(x.data(), rows, &ws, &got);
      EXPECT_EQ(got.pred, want.pred) << threads << " threads, " << rows << " rows";
      EXPECT_EQ(got.score, want.score);
      EXPECT_EQ(got.probs, want.probs);
    }
  }
}

}  // namespace
}  // namespace vigil
