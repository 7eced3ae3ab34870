#include "train/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <sstream>

#include "core/toml_get.h"

namespace vigil {

double TrainConfig::LearningRateAt(int64_t epoch) const {
  const double e = static_cast<double>(epoch);
  if (lr_schedule == "cosine")
    return lr * 0.5 * (1 + std::cos(M_PI * e / static_cast<double>(epochs)));
  if (lr_schedule == "step")
    return lr * std::pow(lr_gamma, std::floor(e / static_cast<double>(lr_step)));
  return lr;
}

Status TrainConfig::Validate() const {
  auto one_of = [](const std::string& v, std::initializer_list<const char*> allowed) {
    return std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return v == a; });
  };
  if (train.empty()) return Status::InvalidArgument("no training file: give --train FILE");
  if (!one_of(format, {"nsl-kdd", "unsw-nb15", "csv", "sessions", "sessions-csv"}))
    return Status::InvalidArgument("unknown --format '" + format +
                                   "' (nsl-kdd, unsw-nb15, csv, sessions, sessions-csv)");
  if (format == "csv" && schema.empty())
    return Status::InvalidArgument("--format csv needs --schema FILE.toml");
  if (!one_of(model, {"mlp", "autoencoder", "mlp-ae", "lstm", "deeplog"}))
    return Status::InvalidArgument("unknown --model '" + model +
                                   "' (mlp, autoencoder, mlp-ae, lstm, deeplog)");
  const bool sessions = format == "sessions" || format == "sessions-csv";
  if (model == "deeplog" && !sessions) {
    return Status::InvalidArgument(
        "--model deeplog reads log-key sessions: use --format sessions or sessions-csv");
  }
  if (model != "deeplog" && sessions)
    return Status::InvalidArgument("--format " + format +
                                   " holds log-key sessions: use --model deeplog");
  if (model == "deeplog" && task != "binary")
    return Status::InvalidArgument("--model deeplog detects anomalies: use --task binary");
  if (window < 0) return Status::InvalidArgument("--window must be >= 1 (0: the model's default)");
  if (top_g < 1) return Status::InvalidArgument("--top-g must be at least 1");
  if (threshold == "topg" && model != "deeplog")
    return Status::InvalidArgument("--threshold topg is for --model deeplog");
  if (!one_of(task, {"binary", "multiclass"}))
    return Status::InvalidArgument("unknown --task '" + task + "' (binary, multiclass)");
  if ((model == "autoencoder" || model == "mlp-ae") && task != "binary")
    return Status::InvalidArgument("--model " + model + " detects anomalies: use --task binary");
  if (!one_of(optimizer, {"adam", "sgd"}))
    return Status::InvalidArgument("unknown --optimizer '" + optimizer + "' (adam, sgd)");
  if (!one_of(lr_schedule, {"none", "cosine", "step"}))
    return Status::InvalidArgument("unknown --lr-schedule '" + lr_schedule +
                                   "' (none, cosine, step)");
  if (!one_of(class_weights, {"none", "balanced"}))
    return Status::InvalidArgument("unknown --class-weights '" + class_weights +
                                   "' (none, balanced)");
  if (!one_of(ae_score, {"mse", "scaled"}))
    return Status::InvalidArgument("unknown --ae-score '" + ae_score + "' (mse, scaled)");
  if (!one_of(threshold, {"f1", "far", "topg"}))
    return Status::InvalidArgument("unknown --threshold '" + threshold + "' (f1, far, topg)");
  if (!(valid_split > 0 && valid_split < 0.9))
    return Status::InvalidArgument("--valid-split must be in (0, 0.9)");
  if (!(dropout < 1)) return Status::InvalidArgument("--dropout must be below 1");
  if (!(lr >= 0)) return Status::InvalidArgument("--lr must be positive (0: the model's default)");
  if (epochs < 1) return Status::InvalidArgument("--epochs must be at least 1");
  if (batch_size < 0)
    return Status::InvalidArgument("--batch-size must be at least 1 (0: the model's default)");
  if (patience < 0) return Status::InvalidArgument("--patience must be >= 0");
  if (!(target_far > 0 && target_far < 1))
    return Status::InvalidArgument("--target-far must be in (0, 1)");
  if (numeric_bins < -1 || numeric_bins > 64)
    return Status::InvalidArgument(
        "--numeric-bins must be in [0, 64], or -1 for the data set's default");
  if (stop_after < 0) return Status::InvalidArgument("--stop-after must be >= 0");
  if (threads < 0) return Status::InvalidArgument("--threads must be >= 0");
  if (bucket_kb < 4) return Status::InvalidArgument("--bucket-kb must be at least 4");
  if (lr_step < 1 || !(lr_gamma > 0 && lr_gamma <= 1))
    return Status::InvalidArgument("--lr-step must be >= 1 and --lr-gamma in (0, 1]");
  return Status::Ok();
}

nlohmann::json TrainConfig::ToJson() const {
  nlohmann::json j = {{"format", format},
                      {"schema", schema},
                      {"train", train},
                      {"valid_split", valid_split},
                      {"numeric_bins", numeric_bins},
                      {"model", model},
                      {"task", task},
                      {"hidden", hidden},
                      {"activation", activation},
                      {"dropout", dropout},
                      {"window", window},
                      {"lstm_hidden", lstm_hidden},
                      {"lstm_layers", lstm_layers},
                      {"top_g", top_g},
                      {"optimizer", optimizer},
                      {"lr", lr},
                      {"momentum", momentum},
                      {"weight_decay", weight_decay},
                      {"lr_schedule", lr_schedule},
                      {"lr_step", lr_step},
                      {"lr_gamma", lr_gamma},
                      {"epochs", epochs},
                      {"batch_size", batch_size},
                      {"patience", patience},
                      {"class_weights", class_weights},
                      {"ae_score", ae_score},
                      {"threshold", threshold},
                      {"target_far", target_far},
                      {"seed", seed},
                      {"threads", threads}};
  if (max_rows > 0) j["max_rows"] = max_rows;
  return j;
}

void ResolveDefaults(TrainConfig* c) {
  const bool autoencoder = c->model == "autoencoder" || c->model == "mlp-ae";
  const bool lstm = c->model == "lstm" || c->model == "deeplog";
  if (c->window == 0) c->window = c->model == "deeplog" ? 10 : 8;
  if (c->dropout < 0) c->dropout = autoencoder || c->model == "deeplog" ? 0.0 : 0.1;
  if (c->lr == 0) c->lr = lstm ? 0.005 : 0.001;
  if (c->batch_size == 0) c->batch_size = lstm ? 64 : 256;
  if (c->numeric_bins < 0) c->numeric_bins = c->format == "unsw-nb15" && !autoencoder ? 16 : 0;
}

Status ApplyTomlFile(const std::string& path, TrainConfig* c) {
  toml::table tbl;
  try {
    tbl = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << path << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return Status::InvalidArgument(msg.str());
  }
  using Setter = std::function<bool(const toml::node&)>;
  auto bind = [](auto* field) -> Setter {
    return [field](const toml::node& n) { return TomlGet(n, field); };
  };
  std::map<std::string, Setter> setters = {
      {"format", bind(&c->format)},
      {"schema", bind(&c->schema)},
      {"train", bind(&c->train)},
      {"valid_split", bind(&c->valid_split)},
      {"numeric_bins", bind(&c->numeric_bins)},
      {"model", bind(&c->model)},
      {"task", bind(&c->task)},
      {"activation", bind(&c->activation)},
      {"dropout", bind(&c->dropout)},
      {"window", bind(&c->window)},
      {"lstm_hidden", bind(&c->lstm_hidden)},
      {"lstm_layers", bind(&c->lstm_layers)},
      {"top_g", bind(&c->top_g)},
      {"optimizer", bind(&c->optimizer)},
      {"lr", bind(&c->lr)},
      {"momentum", bind(&c->momentum)},
      {"weight_decay", bind(&c->weight_decay)},
      {"lr_schedule", bind(&c->lr_schedule)},
      {"lr_step", bind(&c->lr_step)},
      {"lr_gamma", bind(&c->lr_gamma)},
      {"epochs", bind(&c->epochs)},
      {"batch_size", bind(&c->batch_size)},
      {"patience", bind(&c->patience)},
      {"class_weights", bind(&c->class_weights)},
      {"threshold", bind(&c->threshold)},
      {"ae_score", bind(&c->ae_score)},
      {"target_far", bind(&c->target_far)},
      {"seed", bind(&c->seed)},
      {"threads", bind(&c->threads)},
      {"out", bind(&c->out)},
      {"checkpoint", bind(&c->checkpoint)},
      {"history", bind(&c->history)},
      {"max_rows", bind(&c->max_rows)},
      {"hidden",
       [c](const toml::node& n) {
         const toml::array* arr = n.as_array();
         if (arr == nullptr) return false;
         c->hidden.clear();
         for (const auto& e : *arr) {
           auto v = e.value<int64_t>();
           if (!v) return false;
           c->hidden.push_back(*v);
         }
         return true;
       }},
  };
  for (const auto& [key, node] : tbl) {
    std::string k = TomlKey(std::string(key.str()));
    auto it = setters.find(k);
    if (it == setters.end()) {
      return Status::InvalidArgument(path + ":" + std::to_string(node.source().begin.line) +
                                     ": unknown key '" + std::string(key.str()) + "'");
    }
    if (!it->second(node)) {
      return Status::InvalidArgument(path + ":" + std::to_string(node.source().begin.line) +
                                     ": key '" + std::string(key.str()) + "' has the wrong type");
    }
  }
  return Status::Ok();
}

}  // namespace vigil
