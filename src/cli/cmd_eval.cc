// vigil eval and vigil predict: score a file with a bundle.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/deeplog_commands.h"
#include "core/file.h"
#include "data/format.h"
#include "eval/metrics.h"
#include "train/deeplog.h"
#include "train/scoring.h"

namespace vigil {
namespace {

struct ScoreFlags {
  std::string model, format, schema, input, output;
  std::string label;  // deeplog: the label of every session of a `sessions` file
  double threshold = NAN;
  int threads = 0;
  int64_t batch = 4096;
};

// Reads `path` with the given format, or with the bundle's own schema when format is empty.
Result<Table> ReadForModel(const LoadedModel& m, const ScoreFlags& f, bool require_target) {
  Schema schema = m.schema;
  if (!f.format.empty() && f.format != m.schema.format) {
    VIGIL_ASSIGN_OR_RETURN(schema, MakeSchema(f.format, f.schema));
  } else if (!f.schema.empty()) {
    VIGIL_ASSIGN_OR_RETURN(schema, MakeSchema("csv", f.schema));
  }
  return ReadTable(f.input, schema, require_target);
}

Result<LoadedModel> Load(const ScoreFlags& f, Bundle bundle) {
  SetTorchThreads(f.threads);
  auto loaded = ModelFromBundle(std::move(bundle));
  if (!loaded.ok()) return loaded.status().WithContext(f.model);
  LoadedModel m = std::move(*loaded);
  if (!std::isnan(f.threshold)) m.threshold = f.threshold;
  return m;
}

SessionScoreOptions SessionOptions(const ScoreFlags& f) {
  SessionScoreOptions o;
  o.model = f.model;
  o.input = f.input;
  o.format = f.format;
  o.label = f.label;
  o.output = f.output;
  o.threshold = f.threshold;
  o.threads = f.threads;
  o.batch = f.batch;
  return o;
}

void AddCommonFlags(CLI::App* cmd, ScoreFlags* f, const char* input_flag, const char* input_help) {
  cmd->add_option("--model,-m", f->model, "Model bundle")->required()->check(CLI::ExistingFile);
  cmd->add_option(input_flag, f->input, input_help)->required()->check(CLI::ExistingFile);
  cmd->add_option("--format", f->format,
                  "nsl-kdd, unsw-nb15, csv; sessions or sessions-csv for deeplog (default: the "
                  "bundle's schema; deeplog: detected)");
  cmd->add_option("--schema", f->schema, "TOML schema for --format csv");
  cmd->add_option("--threshold", f->threshold, "Override the bundle's score threshold");
  cmd->add_option("--threads", f->threads, "CPU threads (0: all cores)");
}

int RunEval(const ScoreFlags& f, const std::string& report_path) {
  auto bundle = ReadBundle(f.model);
  if (!bundle.ok()) return ReportError(bundle.status());
  if (IsDeepLogBundle(*bundle)) {
    SessionScoreOptions o = SessionOptions(f);
    o.report = report_path;
    return RunDeepLogEval(std::move(*bundle), o);
  }
  auto m = Load(f, std::move(*bundle));
  if (!m.ok()) return ReportError(m.status());
  auto table = ReadForModel(*m, f, /*require_target=*/true);
  if (!table.ok()) return ReportError(table.status());
  auto report = EvaluateTable(*m, *table);
  if (!report.ok()) return ReportError(report.status());
  std::printf("%s on %s (%zu rows)\n%s", f.model.c_str(), f.input.c_str(), table->rows,
              report->ToText().c_str());
  if (!report_path.empty()) {
    nlohmann::json j = report->ToJson();
    j["model"] = f.model;
    j["test_file"] = f.input;
    Status s = WriteFileAtomic(report_path, j.dump(2) + "\n");
    if (!s.ok()) return ReportError(s);
    std::printf("wrote %s\n", report_path.c_str());
  }
  return 0;
}

int RunPredict(const ScoreFlags& f) {
  auto bundle = ReadBundle(f.model);
  if (!bundle.ok()) return ReportError(bundle.status());
  if (IsDeepLogBundle(*bundle)) return RunDeepLogPredict(std::move(*bundle), SessionOptions(f));
  auto m = Load(f, std::move(*bundle));
  if (!m.ok()) return ReportError(m.status());
  auto table = ReadForModel(*m, f, /*require_target=*/false);
  if (!table.ok()) return ReportError(table.status());
  const auto start = std::chrono::steady_clock::now();
  auto scores = ScoreTable(*m, *table, f.batch);
  if (!scores.ok()) return ReportError(scores.status());
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::ofstream file;
  if (!f.output.empty() && f.output != "-") {
    file.open(f.output, std::ios::binary | std::ios::trunc);
    if (!file) return ReportError(Status::IOError(f.output + ": cannot open for writing"));
  }
  std::ostream& out = file.is_open() ? file : std::cout;
  const size_t nc = m->classes.size();
  for (size_t r = 0; r < table->rows; ++r) {
    nlohmann::json j;
    j["row"] = r + 1;
    if (!table->ids.empty()) j["id"] = table->ids[r];
    j["class"] = m->classes[static_cast<size_t>(scores->pred[r])];
    j["attack"] = scores->pred[r] != m->normal_class;
    j["score"] = scores->attack_score[r];
    if (!scores->probs.empty()) {
      nlohmann::json p;
      for (size_t c = 0; c < nc; ++c) p[m->classes[c]] = scores->probs[r * nc + c];
      j["probabilities"] = p;
    }
    out << j.dump() << '\n';
  }
  out.flush();
  if (!out) return ReportError(Status::IOError(f.output + ": write failed"));
  if (file.is_open()) {
    std::fprintf(stderr, "wrote %zu predictions to %s (scored in %.3f s at batch %lld: %.0f records/s)\n",
                 table->rows, f.output.c_str(), secs, static_cast<long long>(f.batch),
                 static_cast<double>(table->rows) / std::max(secs, 1e-9));
  }
  return 0;
}

}  // namespace

void AddEvalCommands(CLI::App& app, int* exit_code) {
  auto ef = std::make_shared<ScoreFlags>();
  auto report = std::make_shared<std::string>();
  CLI::App* eval = app.add_subcommand("eval", "Evaluate a bundle on a labelled test file");
  AddCommonFlags(eval, ef.get(), "--test", "Labelled test file");
  eval->add_option("--report", *report, "Write the metrics as JSON");
  eval->add_option("--label", ef->label,
                   "deeplog, format sessions: the label of every session (normal or anomaly)");
  eval->callback([ef, report, exit_code]() { *exit_code = RunEval(*ef, *report); });

  auto pf = std::make_shared<ScoreFlags>();
  CLI::App* predict =
      app.add_subcommand("predict", "Score every record of a file (JSON lines out)");
  AddCommonFlags(predict, pf.get(), "--input", "File to score (labels optional)");
  predict->add_option("--output,-o", pf->output, "JSON-lines output (default stdout)");
  predict->add_option("--batch", pf->batch, "Records per forward pass (compare with vigil-agent --batch-max)")
      ->check(CLI::PositiveNumber);
  predict->callback([pf, exit_code]() { *exit_code = RunPredict(*pf); });
}

}  // namespace vigil
