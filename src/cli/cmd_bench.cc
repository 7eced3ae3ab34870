// vigil bench score: the scoring engines side by side on the same model and records, same process:
// the detection plane's Scorer (src/infer/, what vigil-agent runs) and the training plane's
// LibTorch network (what vigil predict runs). Both score the same preprocessed rows in batches of
// each --batch size, with each --threads setting (LibTorch's intra-op threads; the Scorer's
// ParallelScorer, as vigil-agent --threads, which splits batches of 64+ records between threads).
// For every batch it records the wall time; a record's latency is its batch's time. Prints a
// markdown table (records/s, p50 and p99 latency per record, and the fastest batch's time per
// record, which other load on the machine cannot inflate) and writes --json; --features-out
// writes the preprocessed rows (float32, row-major) for the Python peer in bench/.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "core/file.h"
#include "data/format.h"
#include "infer/encode.h"
#include "infer/kernels.h"
#include "infer/parallel.h"
#include "infer/scorer.h"
#include "train/scoring.h"

namespace vigil {
namespace {

struct BenchFlags {
  std::string model, input, json, features_out;
  std::vector<int64_t> batches = {1, 256};
  std::vector<int> threads = {1, 2};
  size_t rows = 20000;
  double min_seconds = 1.0;
};

struct Timing {
  double records_per_s = 0, p50_us = 0, p99_us = 0;
  double best_us = 0;  // the fastest batch's time per record: robust to other load on the machine
  size_t records = 0;
};

// Runs `score(first_row, n)` over the rows in batches until every row was scored once and at
// least min_seconds passed; per-record latency = the batch's wall time.
template <typename Fn>
Timing Measure(size_t rows, int64_t batch, double min_seconds, Fn score) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> lat;
  double best = 1e300;
  size_t done = 0;
  const auto start = Clock::now();
  double elapsed = 0;
  for (size_t r = 0; done < rows || elapsed < min_seconds; r = (r + batch) % rows) {
    const size_t n = std::min<size_t>(static_cast<size_t>(batch), rows - r);
    const auto t0 = Clock::now();
    score(r, n);
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    lat.insert(lat.end(), n, us);
    best = std::min(best, us / static_cast<double>(n));
    done += n;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  std::sort(lat.begin(), lat.end());
  Timing t;
  t.records = done;
  t.records_per_s = static_cast<double>(done) / elapsed;
  t.p50_us = lat[lat.size() / 2];
  t.p99_us = lat[std::min(lat.size() - 1, lat.size() * 99 / 100)];
  t.best_us = best;
  return t;
}

int RunBenchScore(const BenchFlags& f) {
  auto torch_model = LoadModel(f.model);
  if (!torch_model.ok()) return ReportError(torch_model.status());
  if (torch_model->spec.IsSequence()) {
    return ReportError(Status::Unsupported("bench score measures window-free models (mlp, "
                                           "autoencoder, mlp-ae)"));
  }
  auto scorer = Scorer::Load(f.model);
  if (!scorer.ok()) return ReportError(scorer.status());
  auto table = ReadTable(f.input, torch_model->schema, /*require_target=*/false);
  if (!table.ok()) return ReportError(table.status());
  if (table->rows > f.rows) {
    std::vector<size_t> idx(f.rows);
    for (size_t i = 0; i < f.rows; ++i) idx[i] = i;
    *table = table->Select(idx);
  }
  auto x = EncodeTable(*scorer, *table);
  if (!x.ok()) return ReportError(x.status());
  auto inputs = PrepareInputs(torch_model->prep, torch_model->spec, *table);
  if (!inputs.ok()) return ReportError(inputs.status());
  if (!f.features_out.empty()) {
    std::string bytes(reinterpret_cast<const char*>(x->data()), x->size() * sizeof(float));
    Status s = WriteFileAtomic(f.features_out, bytes);
    if (!s.ok()) return ReportError(s);
  }
  const size_t rows = table->rows, d = scorer->input_dim();
  std::printf("model %s (%s, %zu inputs), %zu records of %s, %s kernels\n\n", f.model.c_str(),
              scorer->model_type().c_str(), d, rows, f.input.c_str(), KernelIsa());
  std::printf(
      "| engine | threads | batch | records/s | p50 us/record | p99 us/record | best us/record |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  nlohmann::json report = nlohmann::json::array();
  auto emit = [&](const char* engine, int threads, int64_t batch, const Timing& t) {
    std::printf("| %s | %d | %lld | %.0f | %.1f | %.1f | %.2f |\n", engine, threads,
                static_cast<long long>(batch), t.records_per_s, t.p50_us, t.p99_us, t.best_us);
    std::fflush(stdout);
    report.push_back({{"engine", engine},
                      {"threads", threads},
                      {"batch", batch},
                      {"records_per_s", t.records_per_s},
                      {"p50_us", t.p50_us},
                      {"p99_us", t.p99_us},
                      {"best_us", t.best_us},
                      {"records", t.records}});
  };
  Workspace ws;
  ScoreBatch out;
  for (int threads : f.threads) {
    SetTorchThreads(threads);
    for (int64_t batch : f.batches) {
      Timing lt = Measure(rows, batch, f.min_seconds, [&](size_t r, size_t n) {
        ModelInputs slice;
        slice.x = inputs->x.narrow(0, static_cast<int64_t>(r), static_cast<int64_t>(n));
        ScoreOutput o = ScoreInputs(*torch_model->net, slice, torch_model->normal_class,
                                    torch_model->task, torch_model->threshold, batch);
        (void)o;
      });
      emit("libtorch (vigil predict)", threads, batch, lt);
      ParallelScorer par(*scorer, threads);
      Timing it = Measure(rows, batch, f.min_seconds, [&](size_t r, size_t n) {
        par.Score(x->data() + r * d, n, &ws, &out);
      });
      emit("vigil infer (vigil-agent)", threads, batch, it);
    }
  }
  if (!f.json.empty()) {
    nlohmann::json j = {{"model", f.model},
                        {"input", f.input},
                        {"rows", rows},
                        {"input_dim", d},
                        {"kernels", KernelIsa()},
                        {"results", report}};
    Status s = WriteFileAtomic(f.json, j.dump(2) + "\n");
    if (!s.ok()) return ReportError(s);
  }
  return 0;
}

}  // namespace

void AddBenchCommand(CLI::App& app, int* exit_code) {
  CLI::App* bench = app.add_subcommand("bench", "Measure vigil's engines (see bench/)");
  bench->require_subcommand(1);
  auto f = std::make_shared<BenchFlags>();
  CLI::App* score =
      bench->add_subcommand("score", "Records/s and latency: Scorer (agent) vs LibTorch (predict)");
  score->add_option("--model,-m", f->model, "Model bundle")->required()->check(CLI::ExistingFile);
  score->add_option("--input", f->input, "Records to score")->required()->check(CLI::ExistingFile);
  score->add_option("--batch", f->batches, "Batch sizes")->delimiter(',');
  score->add_option("--threads", f->threads, "Thread counts (both engines)")->delimiter(',');
  score->add_option("--rows", f->rows, "Records used, at most");
  score->add_option("--min-seconds", f->min_seconds, "Least time per measurement");
  score->add_option("--json", f->json, "Write the results as JSON");
  score->add_option("--features-out", f->features_out, "Write the preprocessed rows (float32)");
  score->callback([f, exit_code]() { *exit_code = RunBenchScore(*f); });
}

}  // namespace vigil
