#include "registry/client.h"

#include "core/sha256.h"

namespace vigil {
namespace {

using nlohmann::json;

// Version references travel in paths: a number or hex digits only.
Status CheckRef(const std::string& ref) {
  bool ok = !ref.empty() && ref.size() <= 64;
  for (char c : ref) ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (ok) return Status::Ok();
  return Status::InvalidArgument("version '" + ref.substr(0, 80) +
                                 "': expected a version number or (a prefix of) a SHA-256");
}

}  // namespace

RegistryClient::RegistryClient(RegistryClientOptions options) : options_(std::move(options)) {}

RegistryClient::~RegistryClient() = default;

Result<std::unique_ptr<RegistryClient>> RegistryClient::Create(RegistryClientOptions options) {
  std::string url = options.url;
  const size_t scheme_end = url.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    return Status::InvalidArgument("registry URL '" + url +
                                   "': expected http://HOST:PORT or https://HOST:PORT");
  }
  const size_t path_start = url.find('/', scheme_end + 3);
  std::string host_port = url.substr(0, path_start);
  std::string prefix = path_start == std::string::npos ? "" : url.substr(path_start);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (host_port.size() <= scheme.size() + 3) {
    return Status::InvalidArgument("registry URL '" + url + "': no host");
  }
  std::unique_ptr<RegistryClient> c(new RegistryClient(std::move(options)));
  c->prefix_ = prefix;
  c->http_ = std::make_unique<httplib::Client>(host_port);
  if (!c->http_->is_valid()) {
    return Status::InvalidArgument("registry URL '" + url + "': cannot use it");
  }
  c->http_->set_connection_timeout(c->options_.connect_timeout_s, 0);
  c->http_->set_read_timeout(c->options_.timeout_s, 0);
  c->http_->set_write_timeout(c->options_.timeout_s, 0);
  // One connection per request: a server that refuses a request before reading its body (401,
  // 403, 413) cannot reuse the connection, and registry traffic is a few requests a minute.
  c->http_->set_keep_alive(false);
  if (!c->options_.token.empty()) c->http_->set_bearer_token_auth(c->options_.token);
  if (scheme == "https") {
    if (!c->options_.ca_file.empty()) c->http_->set_ca_cert_path(c->options_.ca_file);
    c->http_->enable_server_certificate_verification(true);
  }
  return c;
}

void RegistryClient::Cancel() { http_->stop(); }

Result<std::string> RegistryClient::Call(const std::string& method, const std::string& path,
                                         std::string_view body, int extra_wait_s,
                                         httplib::Headers* response_headers) {
  http_->set_read_timeout(options_.timeout_s + extra_wait_s, 0);
  const std::string full = prefix_ + path;
  httplib::Result r{nullptr, httplib::Error::Unknown};
  if (method == "GET") {
    r = http_->Get(full);
  } else if (method == "PUT") {
    r = http_->Put(full, body.data(), body.size(), "application/octet-stream");
  } else {
    r = http_->Post(full, body.data(), body.size(), "application/json");
  }
  const std::string where = "registry " + options_.url + ": " + method + " " + path;
  if (!r) {
    std::string why = httplib::to_string(r.error());
    if (r.error() == httplib::Error::SSLServerVerification) {
      why += " (the server's certificate is not trusted: pass the CA with --ca)";
    }
    return Status::IOError(where + ": " + why);
  }
  if (r->status >= 200 && r->status < 300) {
    if (response_headers != nullptr) *response_headers = r->headers;
    return std::move(r->body);
  }
  std::string message = r->body;
  json err = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (err.is_object() && err.contains("error") && err["error"].is_string()) {
    message = err["error"].get<std::string>();
  }
  const std::string text = where + ": " + std::to_string(r->status) + ": " + message;
  if (r->status == 404) return Status::NotFound(text);
  if (r->status >= 500) return Status::IOError(text);
  return Status::InvalidArgument(text);
}

Result<json> RegistryClient::CallJson(const std::string& method, const std::string& path,
                                      std::string_view body, int extra_wait_s) {
  VIGIL_ASSIGN_OR_RETURN(std::string text, Call(method, path, body, extra_wait_s));
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Status::IOError("registry " + options_.url + ": " + method + " " + path +
                           ": the answer is not JSON");
  }
  return j;
}

Result<json> RegistryClient::WhoAmI() { return CallJson("GET", "/v1/whoami"); }

Result<VersionInfo> RegistryClient::Publish(const std::string& model, std::string_view bytes,
                                            const std::string& channel, bool* created,
                                            ChannelState* channel_state) {
  VIGIL_RETURN_IF_ERROR(CheckName(model, "model"));
  if (!channel.empty()) VIGIL_RETURN_IF_ERROR(CheckName(channel, "channel"));
  VIGIL_RETURN_IF_ERROR(ParseBundle(bytes, "bundle to publish").status());
  // Ask first: a server refuses a token before reading the body, which a client still sending a
  // large body may see only as a broken connection.
  VIGIL_ASSIGN_OR_RETURN(json me, WhoAmI());
  if (me.value("role", "") != "publisher") {
    return Status::InvalidArgument("registry " + options_.url + ": token '" +
                                   me.value("name", "?") +
                                   "' is a reader token; publishing needs a publisher token");
  }
  const uint64_t limit = me.value("max_bundle_bytes", uint64_t{0});
  if (limit > 0 && bytes.size() > limit) {
    return Status::InvalidArgument(
        "registry " + options_.url + ": the bundle is " + std::to_string(bytes.size()) +
        " bytes, over the registry's limit of " + std::to_string(limit) + " (--max-bundle-bytes)");
  }
  std::string path = "/v1/models/" + model + "/versions";
  if (!channel.empty()) path += "?channel=" + channel;
  VIGIL_ASSIGN_OR_RETURN(json j, CallJson("PUT", path, bytes));
  VIGIL_ASSIGN_OR_RETURN(VersionInfo v, VersionInfo::FromJson(j));
  if (v.sha256 != Sha256Hex(bytes)) {
    return Status::IOError("registry " + options_.url +
                           ": the registry stored a different SHA-256 than the bytes sent");
  }
  if (created != nullptr) *created = j.value("created", false);
  if (channel_state != nullptr && j.contains("channel")) {
    VIGIL_ASSIGN_OR_RETURN(*channel_state, ChannelState::FromJson(j["channel"]));
  }
  return v;
}

Result<json> RegistryClient::ListModels() { return CallJson("GET", "/v1/models"); }

Result<std::vector<VersionInfo>> RegistryClient::ListVersions(const std::string& model) {
  VIGIL_RETURN_IF_ERROR(CheckName(model, "model"));
  VIGIL_ASSIGN_OR_RETURN(json j, CallJson("GET", "/v1/models/" + model + "/versions"));
  std::vector<VersionInfo> out;
  if (!j.contains("versions") || !j["versions"].is_array()) {
    return Status::IOError("registry " + options_.url + ": no versions list in the answer");
  }
  for (const json& v : j["versions"]) {
    VIGIL_ASSIGN_OR_RETURN(VersionInfo info, VersionInfo::FromJson(v));
    out.push_back(std::move(info));
  }
  return out;
}

Result<VersionInfo> RegistryClient::GetVersion(const std::string& model, const std::string& ref) {
  VIGIL_RETURN_IF_ERROR(CheckName(model, "model"));
  VIGIL_RETURN_IF_ERROR(CheckRef(ref));
  VIGIL_ASSIGN_OR_RETURN(json j,
                         CallJson("GET", "/v1/models/" + model + "/versions/" + ref + "/info"));
  return VersionInfo::FromJson(j);
}

Result<std::string> RegistryClient::Download(const std::string& model, const std::string& ref,
                                             VersionInfo* info) {
  VIGIL_RETURN_IF_ERROR(CheckName(model, "model"));
  VIGIL_RETURN_IF_ERROR(CheckRef(ref));
  httplib::Headers headers;
  const std::string path = "/v1/models/" + model + "/versions/" + ref;
  VIGIL_ASSIGN_OR_RETURN(std::string bytes, Call("GET", path, {}, 0, &headers));
  auto it = headers.find("X-Vigil-Sha256");
  const std::string named = it == headers.end() ? "" : it->second;
  const std::string actual = Sha256Hex(bytes);
  if (named != actual || (IsSha256Hex(ref) && ref != actual)) {
    return Status::Corruption("registry " + options_.url + ": GET " + path +
                              ": the bytes received hash to " + actual.substr(0, 12) +
                              ", not to the version asked for (" +
                              (named.empty() ? ref : named).substr(0, 12) + ")");
  }
  if (info != nullptr) {
    info->model = model;
    info->sha256 = actual;
    info->size = static_cast<int64_t>(bytes.size());
    auto num = headers.find("X-Vigil-Version");
    if (num != headers.end()) info->number = std::atoll(num->second.c_str());
  }
  return bytes;
}

Result<ChannelState> RegistryClient::GetChannel(const std::string& model,
                                                const std::string& channel) {
  VIGIL_RETURN_IF_ERROR(CheckName(model, "model"));
  VIGIL_RETURN_IF_ERROR(CheckName(channel, "channel"));
  VIGIL_ASSIGN_OR_RETURN(json j, CallJson("GET", "/v1/models/" + model + "/channels/" + channel));
  return ChannelState::FromJson(j);
}

Result<std::vector<ChannelState>> RegistryClient::ListChannels(const std::string& model) {
  VIGIL_RETURN_IF_ERROR(CheckName(model, "model"));
  VIGIL_ASSIGN_OR_RETURN(json j, CallJson("GET", "/v1/models/" + model + "/channels"));
  std::vector<ChannelState> out;
  if (!j.contains("channels") || !j["channels"].is_array()) {
    return Status::IOError("registry " + options_.url + ": no channels list in the answer");
  }
  for (const json& c : j["channels"]) {
    VIGIL_ASSIGN_OR_RETURN(ChannelState s, ChannelState::FromJson(c));
    out.push_back(std::move(s));
  }
  return out;
}

Result<ChannelState> RegistryClient::Promote(const std::string& model, const std::string& channel,
                                             const std::string& ref) {
  VIGIL_RETURN_IF_ERROR(CheckName(model, "model"));
  VIGIL_RETURN_IF_ERROR(CheckName(channel, "channel"));
  VIGIL_RETURN_IF_ERROR(CheckRef(ref));
  const std::string body = json{{"version", ref}}.dump();
  VIGIL_ASSIGN_OR_RETURN(json j,
                         CallJson("PUT", "/v1/models/" + model + "/channels/" + channel, body));
  return ChannelState::FromJson(j);
}

Status RegistryClient::PostReport(const std::string& model, const nlohmann::json& report) {
  VIGIL_RETURN_IF_ERROR(CheckName(model, "model"));
  return CallJson("POST", "/v1/models/" + model + "/reports", report.dump()).status();
}

Result<nlohmann::json> RegistryClient::Stats(const std::string& model) {
  VIGIL_RETURN_IF_ERROR(CheckName(model, "model"));
  return CallJson("GET", "/v1/models/" + model + "/stats");
}

Result<ChannelState> RegistryClient::Rollback(const std::string& model,
                                              const std::string& channel) {
  VIGIL_RETURN_IF_ERROR(CheckName(model, "model"));
  VIGIL_RETURN_IF_ERROR(CheckName(channel, "channel"));
  VIGIL_ASSIGN_OR_RETURN(
      json j, CallJson("POST", "/v1/models/" + model + "/channels/" + channel + "/rollback"));
  return ChannelState::FromJson(j);
}

Result<json> RegistryClient::History(const std::string& model, const std::string& channel,
                                     int limit) {
  VIGIL_RETURN_IF_ERROR(CheckName(model, "model"));
  VIGIL_RETURN_IF_ERROR(CheckName(channel, "channel"));
  return CallJson("GET", "/v1/models/" + model + "/channels/" + channel +
                             "/history?limit=" + std::to_string(limit));
}

Result<ChannelState> RegistryClient::Watch(const std::string& model, const std::string& channel,
                                           int64_t after_revision, int timeout_s, bool* changed) {
  VIGIL_RETURN_IF_ERROR(CheckName(model, "model"));
  VIGIL_RETURN_IF_ERROR(CheckName(channel, "channel"));
  VIGIL_ASSIGN_OR_RETURN(json j, CallJson("GET",
                                          "/v1/models/" + model + "/channels/" + channel +
                                              "/watch?after=" + std::to_string(after_revision) +
                                              "&timeout=" + std::to_string(timeout_s),
                                          {}, timeout_s));
  *changed = j.value("changed", false);
  return ChannelState::FromJson(j);
}

Result<FetchedBundle> RegistryClient::FetchVersion(const std::string& model, const std::string& ref,
                                                   const TrustPolicy& policy,
                                                   SignatureCheck* check) {
  FetchedBundle f;
  VIGIL_ASSIGN_OR_RETURN(f.bytes, Download(model, ref, &f.version));
  const std::string name = "registry " + model + " version " + std::to_string(f.version.number) +
                           " (" + f.version.sha256.substr(0, 12) + ")";
  auto b = ParseTrustedBundle(f.bytes, name, policy, &f.signature);
  if (check != nullptr) *check = f.signature;
  if (!b.ok()) return b.status();
  f.bundle = std::move(*b);
  return f;
}

Result<FetchedBundle> RegistryClient::FetchChannel(const std::string& model,
                                                   const std::string& channel,
                                                   const TrustPolicy& policy,
                                                   SignatureCheck* check) {
  VIGIL_ASSIGN_OR_RETURN(ChannelState state, GetChannel(model, channel));
  SignatureCheck local;
  auto f = FetchVersion(model, state.sha256, policy, &local);
  if (check != nullptr) *check = local;
  if (!f.ok()) return f.status();
  f->channel = state;
  return f;
}

}  // namespace vigil
