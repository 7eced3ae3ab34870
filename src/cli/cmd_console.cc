// vigil console: flags into ConsoleOptions (console/console.h), then serve until SIGINT/SIGTERM.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli/commands.h"
#include "console/console.h"
#include "core/file.h"
#include "core/signals.h"
#include "data/fetch.h"

namespace vigil {
namespace {
namespace fs = std::filesystem;

struct ConsoleFlags {
  std::string listen = "127.0.0.1:8800";
  std::string registry, registry_token_file, password_file;
  std::vector<std::string> agents;
  std::string runs_dir = "vigil-console/runs";
  std::string data;
  std::string assets;
};

// The first line of a secret file, without the newline; refuses an empty one.
Result<std::string> ReadSecret(const std::string& path, const char* what) {
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  const size_t nl = text.find_first_of("\r\n");
  if (nl != std::string::npos) text.resize(nl);
  if (text.empty())
    return Status::InvalidArgument(path + ": the " + std::string(what) + " is empty");
  return text;
}

// The data sets the console can train on, found in --data, else where `vigil demo` looks.
std::vector<DatasetSpec> FindDatasets(const std::string& data_dir) {
  std::vector<DatasetSpec> out;
  auto locate = [&](const std::string& name, const std::vector<std::string>& files) -> std::string {
    if (!data_dir.empty()) {
      const fs::path dir = fs::path(data_dir) / name;
      for (const std::string& f : files) {
        if (!fs::exists(dir / f)) return "";
      }
      return dir.string();
    }
    auto here = LocateDataset(name, files, ProjectRootGuess());
    return here.ok() ? *here : "";
  };
  if (std::string d = locate("nsl-kdd", {"KDDTrain+.txt", "KDDTest+.txt"}); !d.empty()) {
    DatasetSpec s{"nsl-kdd", "nsl-kdd", d + "/KDDTrain+.txt", {{"KDDTest+", d + "/KDDTest+.txt"}}};
    if (fs::exists(d + "/KDDTest-21.txt"))
      s.tests.emplace_back("KDDTest-21", d + "/KDDTest-21.txt");
    out.push_back(std::move(s));
  }
  if (std::string d = locate("unsw-nb15", {"UNSW_NB15_dev.csv"}); !d.empty()) {
    out.push_back({"unsw-nb15",
                   "unsw-nb15",
                   d + "/UNSW_NB15_dev.csv",
                   {{"UNSW_NB15_dev", d + "/UNSW_NB15_dev.csv"}}});
  }
  return out;
}

std::string DefaultAssets() {
  const std::string root = ProjectRootGuess();
  if (!root.empty() && fs::exists(fs::path(root) / "web/dist/index.html")) {
    return (fs::path(root) / "web/dist").string();
  }
  // An installed layout: PREFIX/bin/vigil and PREFIX/share/vigil/web.
  return (fs::path(SiblingExecutable("vigil")).parent_path().parent_path() / "share/vigil/web")
      .string();
}

int RunConsole(const ConsoleFlags& f) {
  ConsoleOptions o;
  auto listen = ParseListen(f.listen);
  if (!listen.ok()) return ReportError(listen.status());
  o.listen = *listen;
  o.registry_url = f.registry;
  o.agents = f.agents;
  if (!f.password_file.empty()) {
    auto p = ReadSecret(f.password_file, "password");
    if (!p.ok()) return ReportError(p.status());
    o.password = *p;
  }
  if (!f.registry_token_file.empty()) {
    auto t = ReadSecret(f.registry_token_file, "token");
    if (!t.ok()) return ReportError(t.status());
    o.registry_token = *t;
  }
  o.assets_dir = f.assets.empty() ? DefaultAssets() : f.assets;
  o.jobs.train_binary = SiblingExecutable("vigil-train");
  o.jobs.dir = fs::absolute(f.runs_dir).string();
  o.jobs.datasets = FindDatasets(f.data);
  const bool no_data = o.jobs.datasets.empty();

  const sigset_t signals = BlockStopSignals();

  auto console = Console::Create(std::move(o));
  if (!console.ok()) return ReportError(console.status());
  auto port = (*console)->Start();
  if (!port.ok()) return ReportError(port.status());
  const std::string url = "http://" + listen->host + ":" + std::to_string(*port) + "/";
  std::fprintf(stderr, "vigil console: listening on %s:%d\n", listen->host.c_str(), *port);
  if (!(*console)->one_time_token().empty()) {
    std::fprintf(stderr, "vigil console: open %s#token=%s\n", url.c_str(),
                 (*console)->one_time_token().c_str());
  } else {
    std::fprintf(stderr, "vigil console: open %s and log in with the password%s\n", url.c_str(),
                 f.registry.empty() ? "" : " or a registry token");
  }
  if (no_data) {
    std::fprintf(
        stderr,
        "vigil console: no benchmark data found (--data, $VIGIL_DATA, ../shared/data, "
        "the download cache): training runs are unavailable; `vigil data fetch nsl-kdd`\n");
  }
  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "vigil console: signal %d: stopping\n", sig);
  (*console)->Stop();
  return 0;
}

}  // namespace

void AddConsoleCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<ConsoleFlags>();
  CLI::App* cmd = app.add_subcommand(
      "console", "Serve the web console: training runs, evaluations, models, live detection");
  cmd->add_option("--listen", f->listen, "HOST:PORT to serve on (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--registry", f->registry, "Registry URL for the Models pages");
  cmd->add_option("--registry-token-file", f->registry_token_file,
                  "Token the console uses with the registry for password logins")
      ->check(CLI::ExistingFile);
  cmd->add_option("--agent", f->agents, "A vigil-agent --listen URL to follow (repeatable)");
  cmd->add_option("--password-file", f->password_file,
                  "Log in with this password (first line); else a one-time token is printed")
      ->check(CLI::ExistingFile);
  cmd->add_option("--runs-dir", f->runs_dir, "Where training runs and evaluations are kept")
      ->capture_default_str();
  cmd->add_option("--data", f->data,
                  "Benchmark data directory (default: $VIGIL_DATA, ../shared/data, the cache)");
  cmd->add_option("--assets", f->assets, "The built front-end (default: web/dist)");
  cmd->callback([f, exit_code] { *exit_code = RunConsole(*f); });
}

}  // namespace vigil
