// vigil demo: the main job end to end on public data. Finds NSL-KDD, trains an MLP and an
// autoencoder, evaluates both on KDDTest+ and KDDTest-21, writes the bundles and JSON reports, and
// prints one comparison table.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include "cli/commands.h"
#include "core/file.h"
#include "data/fetch.h"
#include "data/format.h"
#include "train/scoring.h"
#include "train/trainer.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

struct DemoFlags {
  std::string data;  // directory holding the NSL-KDD files (or a parent with nsl-kdd/)
  std::string out = "vigil-demo";
  int64_t epochs = 0;  // 0: per-model default
  int threads = 0;
  bool quick = false;
};

Result<std::string> FindNslKdd(const DemoFlags& f, const std::vector<std::string>& files) {
  if (!f.data.empty()) {
    for (const std::string& dir : {f.data + "/nsl-kdd", f.data}) {
      bool all = true;
      for (const auto& name : files) all &= FileExists(dir + "/" + name);
      if (all) return dir;
    }
    return Status::NotFound(
        f.data + ": no NSL-KDD files (" + files[0] + ", ...) there or in " + f.data +
        "/nsl-kdd/; run `vigil data fetch nsl-kdd` to download them, or point --data at "
        "the directory that holds them");
  }
  // The current directory is usually the checkout; the executable's location is a fallback.
  auto here = LocateDataset("nsl-kdd", files, fs::current_path().string());
  if (here.ok()) return here;
  std::string root = ProjectRootGuess();
  if (!root.empty()) {
    auto there = LocateDataset("nsl-kdd", files, root);
    if (there.ok()) return there;
  }
  return here.status();
}

struct Row {
  std::string model, test;
  EvalReport report;
};

int RunDemo(const DemoFlags& f) {
  const std::string train_file = f.quick ? "KDDTrain+_20Percent.txt" : "KDDTrain+.txt";
  const std::vector<std::string> needed = {train_file, "KDDTest+.txt", "KDDTest-21.txt"};
  auto dir = FindNslKdd(f, needed);
  if (!dir.ok()) return ReportError(dir.status());
  std::error_code ec;
  fs::create_directories(f.out, ec);
  if (ec) return ReportError(Status::IOError(f.out + ": " + ec.message()));
  std::printf("vigil demo: NSL-KDD from %s, results in %s/\n\n", dir->c_str(), f.out.c_str());

  struct Job {
    std::string model;
    int64_t epochs;
  };
  // Full runs use the training defaults (20 epochs at most, early stopping).
  const std::vector<Job> jobs = {{"mlp", f.quick ? 3 : 0}, {"autoencoder", f.quick ? 5 : 0}};
  std::vector<Row> rows;
  for (const Job& job : jobs) {
    TrainConfig cfg;
    cfg.format = "nsl-kdd";
    cfg.train = *dir + "/" + train_file;
    cfg.model = job.model;
    cfg.task = "binary";
    if (f.epochs > 0 || job.epochs > 0) cfg.epochs = f.epochs > 0 ? f.epochs : job.epochs;
    cfg.threads = f.threads;
    cfg.out = f.out + "/nsl-kdd-" + job.model + ".vigil";
    cfg.checkpoint = f.out + "/checkpoints/" + job.model;
    std::printf("== training %s on %s (%lld epochs max)\n", job.model.c_str(), train_file.c_str(),
                static_cast<long long>(cfg.epochs));
    std::fflush(stdout);
    auto summary = Train(cfg);
    if (!summary.ok()) return ReportError(summary.status());
    std::printf("   %zu rows x %lld epochs in %.1f s (%.0f samples/s), wrote %s\n",
                summary->train_rows, static_cast<long long>(summary->epochs_run),
                summary->train_seconds, summary->samples_per_s, cfg.out.c_str());
    auto model = LoadModel(cfg.out);
    if (!model.ok()) return ReportError(model.status());
    for (const std::string& test : {std::string("KDDTest+.txt"), std::string("KDDTest-21.txt")}) {
      auto table = ReadTable(*dir + "/" + test, model->schema);
      if (!table.ok()) return ReportError(table.status());
      auto report = EvaluateTable(*model, *table);
      if (!report.ok()) return ReportError(report.status());
      std::string stem = test.substr(0, test.size() - 4);
      std::string report_path = f.out + "/" + job.model + "-" + stem + ".json";
      Status s = WriteFileAtomic(report_path, report->ToJson().dump(2) + "\n");
      if (!s.ok()) return ReportError(s);
      rows.push_back({job.model, stem, *report});
    }
  }

  std::printf("\nNSL-KDD, binary (attack = positive), trained on %s\n", train_file.c_str());
  std::printf("%-12s %-11s %8s %9s %7s %7s %8s %8s %7s\n", "model", "test", "accuracy", "precision",
              "recall", "f1", "FAR", "ROC-AUC", "rows");
  for (const Row& r : rows) {
    std::printf("%-12s %-11s %8.4f %9.4f %7.4f %7.4f %8.4f %8.4f %7zu\n", r.model.c_str(),
                r.test.c_str(), r.report.accuracy, r.report.precision, r.report.recall, r.report.f1,
                r.report.false_alarm_rate, r.report.roc_auc, r.report.rows);
  }
  std::printf("\nBundles, JSON reports and checkpoints are in %s/. Next:\n", f.out.c_str());
  std::printf("  build/vigil inspect %s/nsl-kdd-mlp.vigil\n", f.out.c_str());
  std::printf(
      "  build/vigil predict --model %s/nsl-kdd-mlp.vigil --input %s/KDDTest+.txt --output "
      "predictions.jsonl\n",
      f.out.c_str(), dir->c_str());
  return 0;
}

}  // namespace

void AddDemoCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<DemoFlags>();
  CLI::App* cmd = app.add_subcommand(
      "demo",
      "Train and evaluate an MLP and an autoencoder on NSL-KDD, export bundles, print the report");
  cmd->add_option(
      "--data", f->data,
      "Directory with the NSL-KDD files (default: $VIGIL_DATA, ../shared/data, the cache)");
  cmd->add_option("--out", f->out, "Output directory")->capture_default_str();
  cmd->add_option("--epochs", f->epochs, "Epochs for every model (default: per model)");
  cmd->add_option("--threads", f->threads, "CPU threads (0: all cores)");
  cmd->add_flag("--quick", f->quick,
                "Train on KDDTrain+_20Percent with few epochs (about a minute)");
  cmd->callback([f, exit_code]() { *exit_code = RunDemo(*f); });
}

}  // namespace vigil
