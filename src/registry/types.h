// Plain values the registry server, its store and its client share: a stored version, the state
// of a channel, one entry of a channel's history, and the name rules.
//
// Every type converts to and from the JSON the HTTP API speaks (docs/registry.md); FromJson
// checks types and returns a Status naming the missing or malformed field, so a client never
// trusts a server's answer blindly. Values only: no shared state, any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vigil {

// One uploaded bundle of a model. Identity: the SHA-256 of the file (content address); `number`
// counts a model's versions in upload order (1, 2, ...) for people.
struct VersionInfo {
  std::string model;
  int64_t number = 0;
  std::string sha256;      // 64 lowercase hex digits
  int64_t size = 0;        // bytes
  std::string created_at;  // RFC 3339, UTC
  std::string publisher;   // name of the token that uploaded it ("anonymous" without auth)
  std::string signature;   // "unsigned", "unknown_key" or "valid" (SignatureStateName)
  std::string key_id;      // the signing key's id, "" when unsigned
  // From the bundle's metadata: kind, model (type, input_dim, num_classes), task, classes,
  // score, metrics, provenance.
  nlohmann::json summary = nlohmann::json::object();

  nlohmann::json ToJson() const;
  static Result<VersionInfo> FromJson(const nlohmann::json& j);
};

// Where a channel points. `revision` is store-wide and strictly increasing: every promote or
// rollback of any channel takes the next one, so a watcher that saw revision R waits for R' > R.
// An unset channel has revision 0 and an empty sha256.
struct ChannelState {
  std::string model;
  std::string channel;
  std::string sha256;
  int64_t number = 0;  // the version's number
  int64_t revision = 0;
  std::string updated_at;

  bool set() const { return !sha256.empty(); }
  nlohmann::json ToJson() const;
  static Result<ChannelState> FromJson(const nlohmann::json& j);
};

// A model as GET /v1/models lists it.
struct ModelSummary {
  std::string name;
  std::string created_at;
  int64_t versions = 0;
  int64_t latest_number = 0;
  std::string latest_sha256;
  std::string latest_created_at;
  std::vector<ChannelState> channels;

  nlohmann::json ToJson() const;
};

// One agent's cumulative counts for one version it serves, as its latest report gave them
// (canary reports: POST /v1/models/{name}/reports). The histogram counts score / threshold in bins
// of 0.1, the last one open-ended (the agent's ModelStats).
struct AgentReport {
  std::string agent;    // the agent's id (host:pid:start), one row set per agent process
  std::string sha256;   // the version it scored with
  std::string role;     // "primary" or "canary"
  std::string channel;  // the channel the agent follows for that role ("" if none)
  int64_t records = 0, alerts = 0;
  std::vector<int64_t> histogram;
  std::string updated_at;  // when the registry received it (RFC 3339, UTC)
};

struct HistoryEntry {
  int64_t revision = 0;
  std::string model, channel;
  std::string action;    // "promote" or "rollback"
  std::string sha256;    // the version the channel points to after the change
  std::string previous;  // before it ("" when the channel was unset)
  std::string actor;
  std::string at;

  nlohmann::json ToJson() const;
};

// Model and channel names: 1 to 128 characters of [A-Za-z0-9._-], starting with a letter or a
// digit (so never "." or ".."; names are never used as file names either).
bool ValidName(std::string_view name);
Status CheckName(std::string_view name, const char* what);  // "model", "channel"

bool IsSha256Hex(std::string_view s);  // 64 lowercase hex digits

// The current time as RFC 3339 UTC with milliseconds ("2026-11-29T08:54:13.074Z").
std::string NowRfc3339();

}  // namespace vigil
