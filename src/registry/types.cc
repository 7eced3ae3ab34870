#include "registry/types.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace vigil {
namespace {

using nlohmann::json;

// Reads j[key] as T, or explains what is wrong with it.
template <typename T>
Status Field(const json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end()) return Status::InvalidArgument(std::string("missing field '") + key + "'");
  if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) {
      return Status::InvalidArgument(std::string("field '") + key + "' is not a string");
    }
  } else {
    if (!it->is_number_integer()) {
      return Status::InvalidArgument(std::string("field '") + key + "' is not an integer");
    }
  }
  *out = it->get<T>();
  return Status::Ok();
}

}  // namespace

json VersionInfo::ToJson() const {
  return {{"model", model},         {"number", number},         {"sha256", sha256},
          {"size", size},           {"created_at", created_at}, {"publisher", publisher},
          {"signature", signature}, {"key_id", key_id},         {"summary", summary}};
}

Result<VersionInfo> VersionInfo::FromJson(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("version: not a JSON object");
  VersionInfo v;
  Status s = Field(j, "model", &v.model);
  if (s.ok()) s = Field(j, "number", &v.number);
  if (s.ok()) s = Field(j, "sha256", &v.sha256);
  if (s.ok()) s = Field(j, "size", &v.size);
  if (s.ok()) s = Field(j, "created_at", &v.created_at);
  if (s.ok()) s = Field(j, "publisher", &v.publisher);
  if (s.ok()) s = Field(j, "signature", &v.signature);
  if (s.ok()) s = Field(j, "key_id", &v.key_id);
  if (!s.ok()) return s.WithContext("version");
  if (!IsSha256Hex(v.sha256))
    return Status::InvalidArgument("version: sha256 is not 64 hex digits");
  if (j.contains("summary")) v.summary = j["summary"];
  return v;
}

json ChannelState::ToJson() const {
  json j = {{"model", model},
            {"channel", channel},
            {"revision", revision},
            {"updated_at", updated_at},
            {"number", number}};
  j["sha256"] = set() ? json(sha256) : json(nullptr);
  return j;
}

Result<ChannelState> ChannelState::FromJson(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("channel: not a JSON object");
  ChannelState c;
  Status s = Field(j, "model", &c.model);
  if (s.ok()) s = Field(j, "channel", &c.channel);
  if (s.ok()) s = Field(j, "revision", &c.revision);
  if (s.ok()) s = Field(j, "number", &c.number);
  if (s.ok()) s = Field(j, "updated_at", &c.updated_at);
  if (!s.ok()) return s.WithContext("channel");
  auto sha = j.find("sha256");
  if (sha != j.end() && !sha->is_null()) {
    if (!sha->is_string() || !IsSha256Hex(sha->get<std::string>())) {
      return Status::InvalidArgument("channel: sha256 is not 64 hex digits");
    }
    c.sha256 = sha->get<std::string>();
  }
  return c;
}

json ModelSummary::ToJson() const {
  json ch = json::object();
  for (const ChannelState& c : channels) ch[c.channel] = c.ToJson();
  return {
      {"name", name},
      {"created_at", created_at},
      {"versions", versions},
      {"latest",
       {{"number", latest_number}, {"sha256", latest_sha256}, {"created_at", latest_created_at}}},
      {"channels", ch}};
}

json HistoryEntry::ToJson() const {
  json j = {{"revision", revision},
            {"model", model},
            {"channel", channel},
            {"action", action},
            {"sha256", sha256},
            {"actor", actor},
            {"at", at}};
  j["previous"] = previous.empty() ? json(nullptr) : json(previous);
  return j;
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name[0])) return false;
  for (char c : name) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

Status CheckName(std::string_view name, const char* what) {
  if (ValidName(name)) return Status::Ok();
  std::string shown(name.substr(0, 64));
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  return Status::InvalidArgument(std::string("invalid ") + what + " name '" + shown +
                                 "': use 1 to 128 characters of A-Z a-z 0-9 . _ -, starting "
                                 "with a letter or a digit");
}

bool IsSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string NowRfc3339() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count()));
  return buf;
}

}  // namespace vigil
