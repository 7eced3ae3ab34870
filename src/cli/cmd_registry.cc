// vigil keygen | sign | verify | publish, and vigil registry serve | list | promote | rollback |
// channel | history | pull | check: bundle signing and the model registry (docs/registry.md).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

#include "bundle/signature.h"
#include "cli/commands.h"
#include "core/file.h"
#include "core/sha256.h"
#include "core/signals.h"
#include "registry/client.h"
#include "registry/server.h"

namespace vigil {
namespace {

using nlohmann::json;

constexpr int kUsage = 2;

int UsageError(const std::string& message) {
  std::fprintf(stderr, "vigil: error: %s\n", message.c_str());
  return kUsage;
}

// Flags every registry client command shares.
struct ClientFlags {
  std::string registry;
  std::string token;
  std::string ca;
};

void AddClientFlags(CLI::App* cmd, ClientFlags* f) {
  cmd->add_option("--registry", f->registry, "Registry URL, http(s)://HOST:PORT")
      ->envname("VIGIL_REGISTRY")
      ->required();
  cmd->add_option("--token", f->token, "Access token (sent as a Bearer token)")
      ->envname("VIGIL_REGISTRY_TOKEN");
  cmd->add_option("--ca", f->ca, "PEM CA certificate that signed the registry's TLS certificate")
      ->check(CLI::ExistingFile);
}

Result<std::unique_ptr<RegistryClient>> MakeClient(const ClientFlags& f) {
  signal(SIGPIPE, SIG_IGN);  // a TLS write to a connection the server closed raises it
  RegistryClientOptions o;
  o.url = f.registry;
  o.token = f.token;
  o.ca_file = f.ca;
  return RegistryClient::Create(o);
}

Result<TrustPolicy> LoadPolicy(const std::vector<std::string>& keys, bool require) {
  TrustPolicy p;
  p.require_signature = require;
  for (const std::string& k : keys) VIGIL_RETURN_IF_ERROR(p.keys.AddPath(k));
  if (require && p.keys.empty()) {
    return Status::InvalidArgument("signatures are required but no --trusted-key was given");
  }
  return p;
}

// ---- keygen, sign, verify ----

int RunKeygen(const std::string& prefix) {
  auto key = GenerateKeyPair();
  if (!key.ok()) return ReportError(key.status());
  Status s = WriteKeyPair(prefix, *key);
  if (!s.ok()) return ReportError(s);
  std::printf("wrote %s.key (secret, mode 0600) and %s.pub\nkey id %s\n", prefix.c_str(),
              prefix.c_str(), key->public_key.id.c_str());
  return 0;
}

int RunSign(const std::string& model, const std::string& key_path, std::string out) {
  if (out.empty()) out = model;
  auto key = ReadSecretKey(key_path);
  if (!key.ok()) return ReportError(key.status());
  auto b = ReadBundle(model);
  if (!b.ok()) return ReportError(b.status());
  Status s = SignBundle(&*b, *key);
  if (s.ok()) s = WriteBundle(out, *b);
  if (!s.ok()) return ReportError(s);
  auto sha = Sha256FileHex(out);
  std::printf("signed %s with key %s (sha256 %s)\n", out.c_str(), key->public_key.id.c_str(),
              sha.ok() ? sha->c_str() : "?");
  return 0;
}

int RunVerify(const std::string& model, const std::vector<std::string>& keys, bool allow_unsigned) {
  auto policy = LoadPolicy(keys, !allow_unsigned);
  if (!policy.ok()) return ReportError(policy.status());
  SignatureCheck check;
  auto b = ReadTrustedBundle(model, *policy, &check);
  if (!b.ok()) return ReportError(b.status());
  std::printf("%s: checksum ok, signature %s%s\n", model.c_str(), SignatureStateName(check.state),
              check.key_id.empty() ? "" : (" (key " + check.key_id + ")").c_str());
  return 0;
}

// ---- publish ----

struct PublishFlags {
  ClientFlags client;
  std::string model, name, channel, key;
};

int RunPublish(const PublishFlags& f) {
  auto bytes = ReadFile(f.model);
  if (!bytes.ok()) return ReportError(bytes.status());
  // A corrupt file is refused here, before anything is sent.
  auto b = ParseBundle(*bytes, f.model);
  if (!b.ok()) return ReportError(b.status());
  std::string upload = std::move(*bytes);
  if (!f.key.empty()) {
    auto key = ReadSecretKey(f.key);
    if (!key.ok()) return ReportError(key.status());
    Status s = SignBundle(&*b, *key);
    if (!s.ok()) return ReportError(s);
    upload = SerializeBundle(*b);  // the local file is left as it is
  }
  auto client = MakeClient(f.client);
  if (!client.ok()) return ReportError(client.status());
  bool created = false;
  ChannelState channel;
  auto v = (*client)->Publish(f.name, upload, f.channel, &created, &channel);
  if (!v.ok()) return ReportError(v.status());
  std::printf("published %s version %lld (sha256 %s, %s%s)%s\n", f.name.c_str(),
              static_cast<long long>(v->number), v->sha256.c_str(), v->signature.c_str(),
              v->key_id.empty() ? "" : (" key " + v->key_id).c_str(),
              created ? "" : ": the registry already had it");
  if (!f.channel.empty()) {
    std::printf("channel %s -> version %lld (revision %lld)\n", f.channel.c_str(),
                static_cast<long long>(channel.number), static_cast<long long>(channel.revision));
  }
  return 0;
}

// ---- registry serve ----

struct ServeFlags {
  std::string store, listen = "127.0.0.1:8700", tokens, tls_cert, tls_key;
  bool insecure_no_auth = false, require_signature = false;
  std::vector<std::string> trusted_keys;
  size_t max_bundle_bytes = 256u << 20;
  size_t threads = 32;
};

int RunServe(const ServeFlags& f) {
  if (f.tokens.empty() == !f.insecure_no_auth) {
    return UsageError(f.tokens.empty()
                          ? "registry serve needs --tokens FILE (or, for a closed test network "
                            "only, --insecure-no-auth)"
                          : "--tokens and --insecure-no-auth exclude each other");
  }
  if (f.tls_cert.empty() != f.tls_key.empty()) {
    return UsageError("--tls-cert and --tls-key go together");
  }
  RegistryServerOptions o;
  o.store_dir = f.store;
  auto listen = ParseListen(f.listen);
  if (!listen.ok()) return UsageError(listen.status().message());
  o.listen = *listen;
  if (f.insecure_no_auth) {
    o.tokens = TokenSet::AllowEveryone();
  } else {
    auto tokens = TokenSet::Load(f.tokens);
    if (!tokens.ok()) return ReportError(tokens.status());
    o.tokens = *tokens;
  }
  auto policy = LoadPolicy(f.trusted_keys, f.require_signature);
  if (!policy.ok()) return ReportError(policy.status());
  o.registry.trust = *policy;
  o.tls_cert = f.tls_cert;
  o.tls_key = f.tls_key;
  o.max_bundle_bytes = f.max_bundle_bytes;
  o.threads = f.threads;
  // Fault-injection seam for the crash tests (src/cli/registry_test.cc): "STEP:MS" pauses every
  // upload at that durability step (blob.write, blob.rename, index.commit) so a test can kill the
  // process there. Only delays; changes nothing else.
  if (const char* pause = std::getenv("VIGIL_REGISTRY_TEST_PAUSE")) {
    const std::string spec = pause;
    const size_t colon = spec.find(':');
    const std::string step = spec.substr(0, colon);
    const int ms = colon == std::string::npos ? 0 : std::atoi(spec.c_str() + colon + 1);
    o.registry.store.fault = [step, ms](std::string_view at) {
      if (at == step) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      return Status::Ok();
    };
  }

  // Signals are taken by one thread (sigwait), so no server thread is interrupted.
  const sigset_t signals = BlockStopSignals();

  auto server = RegistryServer::Create(std::move(o));
  if (!server.ok()) return ReportError(server.status());
  RegistryServer& srv = **server;
  const StoreOpenReport& rep = srv.registry().store().open_report();
  if (rep.removed_temp_files + rep.removed_orphan_blobs > 0) {
    std::fprintf(stderr,
                 "vigil registry: removed %zu unfinished upload(s) and %zu uncommitted blob(s) "
                 "left by an earlier run\n",
                 rep.removed_temp_files, rep.removed_orphan_blobs);
  }
  auto port = srv.Bind();
  if (!port.ok()) return ReportError(port.status());
  const std::string auth = f.insecure_no_auth ? "NONE (--insecure-no-auth: anyone may publish)"
                                              : "tokens from " + f.tokens;
  const TrustPolicy& trust = srv.registry().options().trust;
  const std::string sigs =
      trust.require_signature
          ? "required (" + std::to_string(trust.keys.size()) + " trusted key(s))"
          : "optional (" + std::to_string(trust.keys.size()) + " trusted key(s))";
  std::fprintf(stderr,
               "vigil registry: listening on %s://%s:%d (store %s, %zu versions; auth: %s; "
               "signatures: %s)\n",
               srv.tls() ? "https" : "http", listen->host.c_str(), *port, f.store.c_str(),
               rep.versions, auth.c_str(), sigs.c_str());

  std::atomic<bool> stopping{false};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (!stopping.exchange(true)) {
      std::fprintf(stderr, "vigil registry: signal %d: stopping\n", sig);
      srv.Stop();
    }
  });
  Status run = srv.Serve();
  stopping = true;
  kill(getpid(), SIGTERM);  // wake the signal thread if no signal came
  signal_thread.join();
  if (!run.ok()) return ReportError(run);
  return 0;
}

// ---- registry client verbs ----

std::string Short(const std::string& sha) { return sha.substr(0, 12); }

int RunList(const ClientFlags& cf, const std::string& name, bool as_json) {
  auto client = MakeClient(cf);
  if (!client.ok()) return ReportError(client.status());
  if (name.empty()) {
    auto models = (*client)->ListModels();
    if (!models.ok()) return ReportError(models.status());
    if (as_json) {
      std::printf("%s\n", models->dump(2).c_str());
      return 0;
    }
    std::printf("%-24s %8s %-14s %s\n", "MODEL", "VERSIONS", "LATEST", "CHANNELS");
    for (const json& m : (*models)["models"]) {
      std::string channels;
      for (auto it = m["channels"].begin(); it != m["channels"].end(); ++it) {
        channels += (channels.empty() ? "" : " ") + it.key() + "=" +
                    std::to_string(it.value().value("number", 0));
      }
      std::printf("%-24s %8lld %-14s %s\n", m.value("name", "").c_str(),
                  static_cast<long long>(m.value("versions", 0)),
                  Short(m["latest"].value("sha256", "")).c_str(), channels.c_str());
    }
    return 0;
  }
  auto versions = (*client)->ListVersions(name);
  if (!versions.ok()) return ReportError(versions.status());
  auto channels = (*client)->ListChannels(name);
  if (!channels.ok()) return ReportError(channels.status());
  if (as_json) {
    json out = {{"name", name}, {"versions", json::array()}, {"channels", json::array()}};
    for (const VersionInfo& v : *versions) out["versions"].push_back(v.ToJson());
    for (const ChannelState& c : *channels) out["channels"].push_back(c.ToJson());
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("%-7s %-14s %10s %-24s %-10s %-11s %-16s %s\n", "VERSION", "SHA256", "BYTES",
              "CREATED", "PUBLISHER", "SIGNATURE", "KEY", "CHANNELS");
  for (const VersionInfo& v : *versions) {
    std::string on;
    for (const ChannelState& c : *channels) {
      if (c.sha256 == v.sha256) on += (on.empty() ? "" : ",") + c.channel;
    }
    std::printf("%-7lld %-14s %10lld %-24s %-10s %-11s %-16s %s\n",
                static_cast<long long>(v.number), Short(v.sha256).c_str(),
                static_cast<long long>(v.size), v.created_at.c_str(), v.publisher.c_str(),
                v.signature.c_str(), v.key_id.c_str(), on.c_str());
  }
  return 0;
}

int PrintChannel(const Result<ChannelState>& s, const char* verb) {
  if (!s.ok()) return ReportError(s.status());
  std::printf("%s %s/%s -> version %lld (sha256 %s, revision %lld)\n", verb, s->model.c_str(),
              s->channel.c_str(), static_cast<long long>(s->number), s->sha256.c_str(),
              static_cast<long long>(s->revision));
  return 0;
}

struct ChannelFlags {
  ClientFlags client;
  std::string name, channel, version, out;
  bool watch = false, require_signature = false;
  int64_t after = 0;
  int timeout = 30;
  std::vector<std::string> trusted_keys;
};

int RunChannel(const ChannelFlags& f) {
  auto client = MakeClient(f.client);
  if (!client.ok()) return ReportError(client.status());
  Result<ChannelState> s = Status::Internal("unset");
  bool changed = true;
  if (f.watch) {
    s = (*client)->Watch(f.name, f.channel, f.after, f.timeout, &changed);
  } else {
    s = (*client)->GetChannel(f.name, f.channel);
  }
  if (!s.ok()) return ReportError(s.status());
  json j = s->ToJson();
  if (f.watch) j["changed"] = changed;
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

int RunHistory(const ChannelFlags& f) {
  auto client = MakeClient(f.client);
  if (!client.ok()) return ReportError(client.status());
  auto h = (*client)->History(f.name, f.channel);
  if (!h.ok()) return ReportError(h.status());
  for (const json& e : (*h)["history"]) {
    std::printf("%-6lld %-24s %-9s %-14s <- %-14s %s\n",
                static_cast<long long>(e.value("revision", 0)), e.value("at", "").c_str(),
                e.value("action", "").c_str(), Short(e.value("sha256", "")).c_str(),
                e["previous"].is_string() ? Short(e["previous"].get<std::string>()).c_str() : "-",
                e.value("actor", "").c_str());
  }
  return 0;
}

// The bin (as a score / threshold value: its upper edge) where the cumulative share reaches q.
double HistogramQuantile(const json& h, double q) {
  double total = 0;
  for (const json& c : h) total += c.get<double>();
  if (total <= 0) return 0;
  double seen = 0;
  for (size_t b = 0; b < h.size(); ++b) {
    seen += h[b].get<double>();
    if (seen >= q * total) return 0.1 * static_cast<double>(b + 1);
  }
  return 0.1 * static_cast<double>(h.size());
}

int RunStats(const ClientFlags& cf, const std::string& name, bool as_json) {
  auto client = MakeClient(cf);
  if (!client.ok()) return ReportError(client.status());
  auto st = (*client)->Stats(name);
  if (!st.ok()) return ReportError(st.status());
  if (as_json) {
    std::printf("%s\n", st->dump(2).c_str());
    return 0;
  }
  // Alert rate and score distribution per version, as the agents report them: the canary's
  // figures beside the stable version's are what a promotion decides on.
  std::printf("%-8s %-14s %-18s %7s %12s %10s %10s %9s %9s\n", "version", "sha256", "channels",
              "agents", "records", "alerts", "rate", "p50/thr", "p99/thr");
  for (const json& v : (*st)["versions"]) {
    std::string channels;
    for (const json& c : v["channels"])
      channels += (channels.empty() ? "" : ",") + c.get<std::string>();
    std::printf("%-8lld %-14s %-18s %7zu %12lld %10lld %10.5f %9.1f %9.1f\n",
                static_cast<long long>(v.value("number", 0)), Short(v.value("sha256", "")).c_str(),
                channels.empty() ? "-" : channels.c_str(), v["agents"].size(),
                static_cast<long long>(v.value("records", 0)),
                static_cast<long long>(v.value("alerts", 0)), v.value("alert_rate", 0.0),
                HistogramQuantile(v["histogram"], 0.5), HistogramQuantile(v["histogram"], 0.99));
  }
  for (const json& a : (*st)["agents"]) {
    std::string serving;
    for (const json& x : a["serving"]) {
      serving += (serving.empty() ? "" : ", ") + std::string("v") +
                 std::to_string(x.value("number", 0)) + " (" + x.value("role", "") + ")";
    }
    std::printf("agent %s: last report %s, serving %s\n", a.value("agent", "").c_str(),
                a.value("last_report", "").c_str(), serving.c_str());
  }
  return 0;
}

int RunPull(const ChannelFlags& f) {
  if (f.version.empty() == f.channel.empty()) {
    return UsageError("registry pull needs one of --version and --channel");
  }
  auto policy = LoadPolicy(f.trusted_keys, f.require_signature);
  if (!policy.ok()) return ReportError(policy.status());
  auto client = MakeClient(f.client);
  if (!client.ok()) return ReportError(client.status());
  auto fetched = f.channel.empty() ? (*client)->FetchVersion(f.name, f.version, *policy)
                                   : (*client)->FetchChannel(f.name, f.channel, *policy);
  if (!fetched.ok()) return ReportError(fetched.status());
  Status s = WriteFileAtomic(f.out, fetched->bytes);
  if (!s.ok()) return ReportError(s);
  std::printf("wrote %s: %s version %lld (sha256 %s, signature %s)\n", f.out.c_str(),
              f.name.c_str(), static_cast<long long>(fetched->version.number),
              fetched->version.sha256.c_str(), SignatureStateName(fetched->signature.state));
  return 0;
}

int RunCheck(const std::string& store, bool rehash) {
  auto s = Store::Open(store);
  if (!s.ok()) return ReportError(s.status());
  const StoreOpenReport& rep = (*s)->open_report();
  std::printf("%s: %zu versions; removed %zu unfinished upload(s), %zu uncommitted blob(s)\n",
              store.c_str(), rep.versions, rep.removed_temp_files, rep.removed_orphan_blobs);
  auto problems = (*s)->Check(rehash);
  if (!problems.ok()) return ReportError(problems.status());
  for (const std::string& p : *problems) std::printf("problem: %s\n", p.c_str());
  if (!problems->empty()) return 1;
  std::printf("consistent\n");
  return 0;
}

}  // namespace

void AddRegistryCommands(CLI::App& app, int* exit_code) {
  // keygen
  auto prefix = std::make_shared<std::string>();
  CLI::App* keygen = app.add_subcommand("keygen", "Make an Ed25519 key pair for signing bundles");
  keygen->add_option("--out", *prefix, "Writes PREFIX.key (secret) and PREFIX.pub")->required();
  keygen->callback([prefix, exit_code] { *exit_code = RunKeygen(*prefix); });

  // sign
  auto sign = std::make_shared<std::array<std::string, 3>>();  // model, key, out
  CLI::App* sign_cmd = app.add_subcommand("sign", "Sign a model bundle (Ed25519)");
  sign_cmd->add_option("model", (*sign)[0], "Model bundle")->required()->check(CLI::ExistingFile);
  sign_cmd->add_option("--key", (*sign)[1], "Secret key (PREFIX.key from vigil keygen)")
      ->required()
      ->check(CLI::ExistingFile);
  sign_cmd->add_option("--out,-o", (*sign)[2], "Signed bundle (default: replace the input)");
  sign_cmd->callback(
      [sign, exit_code] { *exit_code = RunSign((*sign)[0], (*sign)[1], (*sign)[2]); });

  // verify
  auto verify_model = std::make_shared<std::string>();
  auto verify_keys = std::make_shared<std::vector<std::string>>();
  auto allow_unsigned = std::make_shared<bool>(false);
  CLI::App* verify = app.add_subcommand("verify", "Check a bundle's checksum and signature");
  verify->add_option("model", *verify_model, "Model bundle")->required();
  verify->add_option("--trusted-key", *verify_keys, "Public key file or directory of *.pub");
  verify->add_flag("--allow-unsigned", *allow_unsigned,
                   "Accept unsigned bundles and unknown keys (a bad signature still fails)");
  verify->callback([=] { *exit_code = RunVerify(*verify_model, *verify_keys, *allow_unsigned); });

  // publish
  auto pf = std::make_shared<PublishFlags>();
  CLI::App* publish = app.add_subcommand("publish", "Upload a bundle to a registry");
  AddClientFlags(publish, &pf->client);
  publish->add_option("--model,-m", pf->model, "Model bundle")
      ->required()
      ->check(CLI::ExistingFile);
  publish->add_option("--name", pf->name, "Model name in the registry")->required();
  publish->add_option("--channel", pf->channel, "Point this channel at the new version");
  publish->add_option("--key", pf->key, "Sign with this secret key before uploading")
      ->check(CLI::ExistingFile);
  publish->callback([pf, exit_code] { *exit_code = RunPublish(*pf); });

  // registry ...
  CLI::App* reg = app.add_subcommand("registry", "The model registry: serve it, or talk to it");
  reg->require_subcommand(1);

  auto sf = std::make_shared<ServeFlags>();
  CLI::App* serve = reg->add_subcommand("serve", "Run the registry's HTTP API");
  serve->add_option("--store", sf->store, "Store directory (created if missing)")->required();
  serve->add_option("--listen", sf->listen, "HOST:PORT (default 127.0.0.1:8700; port 0: any)");
  serve->add_option("--tokens", sf->tokens, "TOML file of [[tokens]] (token, role, name)")
      ->check(CLI::ExistingFile);
  serve->add_flag("--insecure-no-auth", sf->insecure_no_auth,
                  "Serve without tokens: anyone who can connect may publish");
  serve->add_flag("--require-signature", sf->require_signature,
                  "Refuse bundles not signed by a --trusted-key");
  serve->add_option("--trusted-key", sf->trusted_keys, "Public key file or directory of *.pub");
  serve->add_option("--tls-cert", sf->tls_cert, "PEM certificate (chain): serve HTTPS")
      ->check(CLI::ExistingFile);
  serve->add_option("--tls-key", sf->tls_key, "PEM private key of --tls-cert")
      ->check(CLI::ExistingFile);
  serve->add_option("--max-bundle-bytes", sf->max_bundle_bytes,
                    "Largest upload accepted (default 268435456)");
  serve->add_option("--threads", sf->threads, "Worker threads; each waiting watch holds one")
      ->check(CLI::Range(2, 1024));
  serve->callback([sf, exit_code] { *exit_code = RunServe(*sf); });

  auto lf = std::make_shared<ClientFlags>();
  auto list_name = std::make_shared<std::string>();
  auto list_json = std::make_shared<bool>(false);
  CLI::App* list = reg->add_subcommand("list", "List models, or the versions of one");
  AddClientFlags(list, lf.get());
  list->add_option("--name", *list_name, "List this model's versions and channels");
  list->add_flag("--json", *list_json, "Print JSON");
  list->callback([=] { *exit_code = RunList(*lf, *list_name, *list_json); });

  auto cf = std::make_shared<ChannelFlags>();
  CLI::App* promote = reg->add_subcommand("promote", "Point a channel at a version");
  AddClientFlags(promote, &cf->client);
  promote->add_option("--name", cf->name, "Model name")->required();
  promote->add_option("--channel", cf->channel, "Channel (stable, canary, ...)")->required();
  promote->add_option("--version", cf->version, "Version number, SHA-256 or its prefix")
      ->required();
  promote->callback([cf, exit_code] {
    auto client = MakeClient(cf->client);
    *exit_code = client.ok() ? PrintChannel((*client)->Promote(cf->name, cf->channel, cf->version),
                                            "promoted")
                             : ReportError(client.status());
  });

  auto rf = std::make_shared<ChannelFlags>();
  CLI::App* rollback = reg->add_subcommand(
      "rollback", "Point a channel back at the version before its last promotion");
  AddClientFlags(rollback, &rf->client);
  rollback->add_option("--name", rf->name, "Model name")->required();
  rollback->add_option("--channel", rf->channel, "Channel")->required();
  rollback->callback([rf, exit_code] {
    auto client = MakeClient(rf->client);
    *exit_code = client.ok()
                     ? PrintChannel((*client)->Rollback(rf->name, rf->channel), "rolled back")
                     : ReportError(client.status());
  });

  auto wf = std::make_shared<ChannelFlags>();
  CLI::App* channel =
      reg->add_subcommand("channel", "Print a channel's state as JSON (or wait for a change)");
  AddClientFlags(channel, &wf->client);
  channel->add_option("--name", wf->name, "Model name")->required();
  channel->add_option("--channel", wf->channel, "Channel")->required();
  channel->add_flag("--watch", wf->watch, "Wait until the revision passes --after");
  channel->add_option("--after", wf->after, "Revision already seen (with --watch)");
  channel->add_option("--timeout", wf->timeout, "Seconds to wait (with --watch, at most 60)")
      ->check(CLI::Range(0, 60));
  channel->callback([wf, exit_code] { *exit_code = RunChannel(*wf); });

  auto sf2 = std::make_shared<ClientFlags>();
  auto stats_name = std::make_shared<std::string>();
  auto stats_json = std::make_shared<bool>(false);
  CLI::App* stats = reg->add_subcommand(
      "stats", "Per-version records, alert rates and score distributions reported by agents");
  AddClientFlags(stats, sf2.get());
  stats->add_option("--name", *stats_name, "Model name")->required();
  stats->add_flag("--json", *stats_json, "Print JSON");
  stats->callback([=] { *exit_code = RunStats(*sf2, *stats_name, *stats_json); });

  auto hf = std::make_shared<ChannelFlags>();
  CLI::App* history = reg->add_subcommand("history", "A channel's promotions and rollbacks");
  AddClientFlags(history, &hf->client);
  history->add_option("--name", hf->name, "Model name")->required();
  history->add_option("--channel", hf->channel, "Channel")->required();
  history->callback([hf, exit_code] { *exit_code = RunHistory(*hf); });

  auto pl = std::make_shared<ChannelFlags>();
  CLI::App* pull =
      reg->add_subcommand("pull", "Download and verify a version or a channel's version");
  AddClientFlags(pull, &pl->client);
  pull->add_option("--name", pl->name, "Model name")->required();
  pull->add_option("--version", pl->version, "Version number, SHA-256 or its prefix");
  pull->add_option("--channel", pl->channel, "Channel");
  pull->add_option("--out,-o", pl->out, "Where to write the bundle")->required();
  pull->add_option("--trusted-key", pl->trusted_keys, "Public key file or directory of *.pub");
  pull->add_flag("--require-signature", pl->require_signature,
                 "Refuse a bundle not signed by a --trusted-key");
  pull->callback([pl, exit_code] { *exit_code = RunPull(*pl); });

  auto check_store = std::make_shared<std::string>();
  auto rehash = std::make_shared<bool>(false);
  CLI::App* check = reg->add_subcommand(
      "check", "Check a store offline (stop its server first): index, blobs, leftovers");
  check->add_option("--store", *check_store, "Store directory")->required();
  check->add_flag("--rehash", *rehash, "Also re-hash every stored bundle");
  check->callback([=] { *exit_code = RunCheck(*check_store, *rehash); });
}

}  // namespace vigil
