// vigil inspect: print a bundle's metadata (verifies the checksum on the way).
#include <cstdio>

#include "bundle/bundle.h"
#include "cli/commands.h"

namespace vigil {
namespace {

std::string Get(const nlohmann::json& j, const char* a, const char* b = nullptr) {
  const nlohmann::json* n = &j;
  if (!n->contains(a)) return "?";
  n = &(*n)[a];
  if (b != nullptr) {
    if (!n->contains(b)) return "?";
    n = &(*n)[b];
  }
  return n->is_string() ? n->get<std::string>() : n->dump();
}

int RunInspect(const std::string& path, bool json) {
  auto b = ReadBundle(path);
  if (!b.ok()) return ReportError(b.status());
  const nlohmann::json& md = b->metadata;
  if (json) {
    std::printf("%s\n", md.dump(2).c_str());
    return 0;
  }
  std::printf("bundle      %s\n", path.c_str());
  std::printf("sha256      %s\n", b->sha256.c_str());
  std::printf("model       %s, task %s, %s features\n", Get(md, "model", "type").c_str(),
              Get(md, "task").c_str(), Get(md, "model", "input_dim").c_str());
  if (md.contains("model") && md["model"].contains("layers")) {
    for (const auto& l : md["model"]["layers"]) {
      std::printf("  %-6s %5lld -> %-5lld %s\n", l.value("name", "?").c_str(),
                  static_cast<long long>(l.value("in", 0)),
                  static_cast<long long>(l.value("out", 0)), l.value("activation", "").c_str());
    }
  }
  std::printf("classes     %s (normal: %s)\n", Get(md, "classes").c_str(),
              Get(md, "normal_class").c_str());
  std::printf("score       %s, threshold %s (%s)\n", Get(md, "score", "kind").c_str(),
              Get(md, "score", "threshold").c_str(), Get(md, "score", "threshold_rule").c_str());
  std::printf("schema      %s\n", Get(md, "schema", "format").c_str());
  std::printf("data        %s sha256 %s\n", Get(md, "provenance", "dataset_file").c_str(),
              Get(md, "provenance", "dataset_sha256").c_str());
  std::printf("created     %s by vigil %s\n", Get(md, "provenance", "created_at").c_str(),
              Get(md, "provenance", "vigil_version").c_str());
  if (md.contains("training")) {
    const auto& t = md["training"];
    std::printf("training    %s rows, %s epochs (best %s), %.0f samples/s\n",
                t.value("train_rows", nlohmann::json()).dump().c_str(),
                t.value("epochs_run", nlohmann::json()).dump().c_str(),
                t.value("best_epoch", nlohmann::json()).dump().c_str(),
                t.value("samples_per_s", 0.0));
    if (t.contains("config")) std::printf("config      %s\n", t["config"].dump().c_str());
  }
  if (md.contains("metrics") && md["metrics"].contains("validation")) {
    const auto& v = md["metrics"]["validation"];
    std::printf("validation  accuracy %s  f1 %s  roc_auc %s  macro_f1 %s  (%s rows)\n",
                v.value("accuracy", nlohmann::json()).dump().c_str(),
                v.value("f1", nlohmann::json()).dump().c_str(),
                v.value("roc_auc", nlohmann::json()).dump().c_str(),
                v.value("macro_f1", nlohmann::json()).dump().c_str(),
                v.value("rows", nlohmann::json()).dump().c_str());
  }
  std::printf("tensors     %zu\n", b->tensors.size());
  for (const auto& t : b->tensors) {
    std::string shape;
    for (size_t i = 0; i < t.shape.size(); ++i)
      shape += (i ? "x" : "") + std::to_string(t.shape[i]);
    std::printf("  %-22s %s\n", t.name.c_str(), shape.c_str());
  }
  return 0;
}

}  // namespace

void AddInspectCommand(CLI::App& app, int* exit_code) {
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("inspect", "Verify a bundle and print its metadata");
  cmd->add_option("bundle", *path, "Model bundle")->required();
  cmd->add_flag("--json", *json, "Print the full metadata as JSON");
  cmd->callback([path, json, exit_code]() { *exit_code = RunInspect(*path, *json); });
}

}  // namespace vigil
