// vigil data: list and fetch public data sets, and generate the synthetic sequence set.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/progress.h"
#include "data/fetch.h"
#include "data/format.h"
#include "data/split_file.h"
#include "data/synth.h"

namespace vigil {
namespace {

int RunList() {
  std::printf("cache: %s\n", DefaultCacheDir().c_str());
  for (const DatasetInfo& d : DatasetCatalog()) {
    std::printf("%-10s %s\n", d.name.c_str(), d.description.c_str());
    for (const DatasetFile& f : d.files) {
      std::printf("    %-26s %10llu bytes  %s\n", f.name.c_str(),
                  static_cast<unsigned long long>(f.size),
                  f.url.empty() ? "(manual download)" : f.url.c_str());
    }
  }
  return 0;
}

int RunFetch(const std::string& name, FetchOptions opts) {
  std::unique_ptr<Progress> bar;
  std::string current;
  opts.progress = [&](const std::string& file, uint64_t done, uint64_t total) {
    if (file != current) {
      if (bar) bar->Finish();
      bar = std::make_unique<Progress>(file, total == 0 ? 1 : total);
      current = file;
    }
    bar->Update(done, std::to_string(done / 1024) + " KiB");
  };
  auto dir = FetchDataset(name, opts);
  if (bar) bar->Finish();
  if (!dir.ok()) return ReportError(dir.status());
  std::printf("%s is in %s (SHA-256 verified)\n", name.c_str(), dir->c_str());
  return 0;
}

}  // namespace

void AddDataCommands(CLI::App& app, int* exit_code) {
  CLI::App* data = app.add_subcommand("data", "Public data sets and generated data");
  data->require_subcommand(1);

  CLI::App* list = data->add_subcommand("list", "List the data sets vigil can fetch");
  list->callback([exit_code]() { *exit_code = RunList(); });

  auto name = std::make_shared<std::string>();
  auto opts = std::make_shared<FetchOptions>();
  CLI::App* fetch =
      data->add_subcommand("fetch", "Download a data set, verify its SHA-256, cache it");
  fetch->add_option("name", *name, "Data set name (see `vigil data list`)")->required();
  fetch->add_option("--cache", opts->cache_dir,
                    "Cache directory (default $VIGIL_CACHE or ~/.cache/vigil/data)");
  fetch->add_option("--mirror", opts->mirror,
                    "Base URL to download from instead of the official location");
  fetch->add_flag("--force", opts->force, "Download again even if cached");
  fetch->callback([name, opts, exit_code]() { *exit_code = RunFetch(*name, *opts); });

  struct SplitFlags {
    std::string input, format = "unsw-nb15", schema, train_out, test_out;
    double fraction = 0.2;
    uint64_t seed = 42;
  };
  auto sf = std::make_shared<SplitFlags>();
  CLI::App* split = data->add_subcommand(
      "split", "Split a labelled file into train and test files (random, stratified by class)");
  split->add_option("--input", sf->input, "File to split")->required()->check(CLI::ExistingFile);
  split->add_option("--format", sf->format, "nsl-kdd, unsw-nb15 or csv")->capture_default_str();
  split->add_option("--schema", sf->schema, "TOML schema for --format csv");
  split->add_option("--test-fraction", sf->fraction, "Fraction of each class for the test file")
      ->capture_default_str();
  split->add_option("--seed", sf->seed, "Random seed")->capture_default_str();
  split->add_option("--train-out", sf->train_out, "Training part to write")->required();
  split->add_option("--test-out", sf->test_out, "Test part to write")->required();
  split->callback([sf, exit_code]() {
    auto schema = MakeSchema(sf->format, sf->schema);
    if (!schema.ok()) {
      *exit_code = ReportError(schema.status());
      return;
    }
    auto counts =
        SplitFile(sf->input, *schema, sf->fraction, sf->seed, sf->train_out, sf->test_out);
    if (!counts.ok()) {
      *exit_code = ReportError(counts.status());
      return;
    }
    std::printf("wrote %s (%zu rows) and %s (%zu rows)\n", sf->train_out.c_str(),
                counts->first_rows, sf->test_out.c_str(), counts->second_rows);
  });

  auto synth = std::make_shared<SynthOptions>();
  auto out = std::make_shared<std::string>();
  auto schema_out = std::make_shared<std::string>();
  CLI::App* gen = data->add_subcommand(
      "synth",
      "Write the generated sequence data set (attacks visible only across a host's flows)");
  gen->add_option("--out", *out, "CSV file to write")->required();
  gen->add_option("--schema-out", *schema_out, "TOML schema to write (default OUT with .toml)");
  gen->add_option("--hosts", synth->hosts, "Number of hosts")->capture_default_str();
  gen->add_option("--flows", synth->flows_per_host, "Flows per host")->capture_default_str();
  gen->add_option("--seed", synth->seed, "Random seed")->capture_default_str();
  gen->callback([synth, out, schema_out, exit_code]() {
    std::string schema = schema_out->empty() ? *out + ".toml" : *schema_out;
    if (schema_out->empty() && out->size() > 4 && out->substr(out->size() - 4) == ".csv") {
      schema = out->substr(0, out->size() - 4) + ".toml";
    }
    Status s = WriteSequenceDataset(*out, schema, *synth);
    if (!s.ok()) {
      *exit_code = ReportError(s);
      return;
    }
    std::printf("wrote %s and its schema %s\n", out->c_str(), schema.c_str());
  });
}

}  // namespace vigil
