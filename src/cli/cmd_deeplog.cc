// vigil eval / predict on log-key sessions with a deeplog bundle (see cli/deeplog_commands.h).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/deeplog_commands.h"
#include "core/file.h"
#include "train/deeplog.h"
#include "train/scoring.h"

namespace vigil {
namespace {

Result<DeepLogModel> LoadFor(Bundle bundle, const SessionScoreOptions& o) {
  SetTorchThreads(o.threads);
  auto m = DeepLogFromBundle(std::move(bundle));
  if (!m.ok()) return m.status().WithContext(o.model);
  if (!std::isnan(o.threshold)) m->threshold = o.threshold;
  return m;
}

Result<SessionSet> ReadFor(const SessionScoreOptions& o, bool labelled) {
  if (!o.format.empty() && !IsSessionFormat(o.format)) {
    return Status::InvalidArgument(
        "a deeplog bundle scores log-key sessions: --format sessions or "
        "sessions-csv, not '" +
        o.format + "'");
  }
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadFile(o.input));
  const std::string format = o.format.empty() ? DetectSessionFormat(text) : o.format;
  VIGIL_ASSIGN_OR_RETURN(SessionSet s, ParseSessions(text, o.input, format, false));
  if (!o.label.empty()) {
    if (o.label != "normal" && o.label != "anomaly")
      return Status::InvalidArgument("--label must be normal or anomaly, not '" + o.label + "'");
    if (s.has_labels()) {
      return Status::InvalidArgument(o.input +
                                     ": has a label column; --label is for files of "
                                     "format sessions");
    }
    s.labels.assign(s.size(), o.label == "anomaly" ? 1 : 0);
  }
  if (labelled && !s.has_labels()) {
    return Status::InvalidArgument(
        o.input + ": no labels (format " + format +
        "): give --label normal or --label anomaly for every session, or a sessions-csv file "
        "with a label column");
  }
  return s;
}

}  // namespace

int RunDeepLogEval(Bundle bundle, const SessionScoreOptions& o) {
  auto m = LoadFor(std::move(bundle), o);
  if (!m.ok()) return ReportError(m.status());
  auto sessions = ReadFor(o, /*labelled=*/true);
  if (!sessions.ok()) return ReportError(sessions.status());
  auto report = EvaluateSessions(*m, *sessions);
  if (!report.ok()) return ReportError(report.status());
  std::printf("%s on %s (%zu sessions; h %lld, g %lld, threshold %.4g nats)\n%s", o.model.c_str(),
              o.input.c_str(), sessions->size(), static_cast<long long>(m->spec.window),
              static_cast<long long>(m->spec.top_g), m->threshold, report->ToText().c_str());
  if (!o.report.empty()) {
    nlohmann::json j = report->ToJson();
    j["model"] = o.model;
    j["test_file"] = o.input;
    Status s = WriteFileAtomic(o.report, j.dump(2) + "\n");
    if (!s.ok()) return ReportError(s);
    std::printf("wrote %s\n", o.report.c_str());
  }
  return 0;
}

int RunDeepLogPredict(Bundle bundle, const SessionScoreOptions& o) {
  auto m = LoadFor(std::move(bundle), o);
  if (!m.ok()) return ReportError(m.status());
  auto sessions = ReadFor(o, /*labelled=*/false);
  if (!sessions.ok()) return ReportError(sessions.status());
  const auto start = std::chrono::steady_clock::now();
  std::vector<SessionVerdict> verdicts = JudgeSessions(*m, *sessions, o.batch);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::ofstream file;
  if (!o.output.empty() && o.output != "-") {
    file.open(o.output, std::ios::binary | std::ios::trunc);
    if (!file) return ReportError(Status::IOError(o.output + ": cannot open for writing"));
  }
  std::ostream& out = file.is_open() ? file : std::cout;
  for (size_t s = 0; s < verdicts.size(); ++s) {
    const SessionVerdict& v = verdicts[s];
    nlohmann::json j;
    j["row"] = s + 1;
    j["line"] = sessions->lines[s];
    j["class"] = v.anomaly ? "anomaly" : "normal";
    j["attack"] = v.anomaly;
    j["score"] = v.score;
    j["keys"] = sessions->keys[s].size();
    if (v.anomaly) {
      j["position"] = v.position;
      j["key"] = v.key;
      j["unknown_key"] = v.unknown_key;
      j["probability"] = v.probability;
      j["expected"] = v.expected;
    }
    out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  }
  out.flush();
  if (!out) return ReportError(Status::IOError(o.output + ": write failed"));
  if (file.is_open()) {
    std::fprintf(stderr, "wrote %zu verdicts to %s (judged in %.3f s: %.0f sessions/s)\n",
                 verdicts.size(), o.output.c_str(), secs,
                 static_cast<double>(verdicts.size()) / std::max(secs, 1e-9));
  }
  return 0;
}

}  // namespace vigil
