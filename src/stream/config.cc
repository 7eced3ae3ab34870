#include "stream/config.h"

#include <toml++/toml.h>

#include <functional>
#include <map>

#include "core/toml_get.h"

namespace vigil {
namespace {

using Setter = std::function<bool(const toml::node&)>;

template <typename T>
Setter Bind(T* field) {
  return [field](const toml::node& n) { return TomlGet(n, field); };
}

Status Apply(const std::string& path, const toml::table& tbl,
             const std::map<std::string, Setter>& setters, const std::string& where) {
  for (const auto& [key, node] : tbl) {
    const std::string k = TomlKey(std::string(key.str()));
    auto it = setters.find(k);
    const std::string at = path + ":" + std::to_string(node.source().begin.line) + ": ";
    if (it == setters.end()) {
      return Status::InvalidArgument(at + "unknown key '" + where + std::string(key.str()) + "'");
    }
    if (!it->second(node)) {
      return Status::InvalidArgument(at + "key '" + where + std::string(key.str()) +
                                     "' has the wrong type");
    }
  }
  return Status::Ok();
}

}  // namespace

Status ApplyAgentToml(const std::string& path, AgentConfig* c) {
  toml::table tbl;
  try {
    tbl = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(path + ":" + std::to_string(e.source().begin.line) + ":" +
                                   std::to_string(e.source().begin.column) + ": " +
                                   std::string(e.description()));
  }
  AgentOptions& a = c->agent;
  NatsOptions& n = c->nats;
  Status nested = Status::Ok();
  std::map<std::string, Setter> setters = {
      {"model", Bind(&a.model)},
      {"format", Bind(&a.format)},
      {"schema", Bind(&a.schema)},
      {"threshold", Bind(&a.threshold)},
      {"batch_max", Bind(&a.batch_max)},
      {"batch_wait_us", Bind(&a.batch_wait_us)},
      {"queue_records", Bind(&a.queue_records)},
      {"max_record_bytes", Bind(&a.max_record_bytes)},
      {"explain_top", Bind(&a.explain_top)},
      {"threads", Bind(&a.threads)},
      {"max_sources", Bind(&a.max_sources)},
      {"scores", Bind(&a.scores_path)},
      {"alerts", Bind(&a.alerts_path)},
      {"dead_letter", Bind(&a.dead_letter_path)},
      {"dry_run", Bind(&a.dry_run)},
      {"quiet", Bind(&a.quiet)},
      {"input_format", Bind(&c->input_format)},
      {"follow", Bind(&c->follow)},
      {"rate", Bind(&c->rate)},
      {"listen", Bind(&c->listen)},
      {"http_max_body", Bind(&c->http_max_body)},
      {"nats", Bind(&n.url)},
      {"stream", Bind(&n.stream)},
      {"consumer", Bind(&n.consumer)},
      {"subject", Bind(&n.subject)},
      {"nats_results", Bind(&n.results)},
      {"nats_alerts", Bind(&n.alerts)},
      {"nats_dead_letter", Bind(&n.dead_letter)},
      {"ack_wait_s", Bind(&n.ack_wait_s)},
      {"fetch", Bind(&n.fetch)},
      {"max_ack_pending", Bind(&n.max_ack_pending)},
      {"registry", Bind(&c->models.registry)},
      {"name", Bind(&c->models.name)},
      {"channel", Bind(&c->models.channel)},
      {"canary_channel", Bind(&c->models.canary_channel)},
      {"canary_share", Bind(&a.canary_share)},
      {"model_dir", Bind(&c->models.model_dir)},
      {"cache_dir", Bind(&c->models.cache_dir)},
      {"token_file", Bind(&c->token_file)},
      {"ca_file", Bind(&c->models.ca_file)},
      {"require_signature", Bind(&c->models.require_signature)},
      {"report_interval_s", Bind(&c->models.report_s)},
      {"agent_id", Bind(&c->models.agent_id)},
      {"trusted_key",
       [c](const toml::node& node) {
         if (auto s = node.value<std::string>()) {
           c->models.trusted_keys = {*s};
           return true;
         }
         const toml::array* arr = node.as_array();
         if (arr == nullptr) return false;
         c->models.trusted_keys.clear();
         for (const auto& e : *arr) {
           auto s = e.value<std::string>();
           if (!s) return false;
           c->models.trusted_keys.push_back(*s);
         }
         return true;
       }},
      {"input",
       [c](const toml::node& node) {
         if (auto s = node.value<std::string>()) {
           c->inputs = {*s};
           return true;
         }
         const toml::array* arr = node.as_array();
         if (arr == nullptr) return false;
         c->inputs.clear();
         for (const auto& e : *arr) {
           auto s = e.value<std::string>();
           if (!s) return false;
           c->inputs.push_back(*s);
         }
         return true;
       }},
      {"threat",
       [&](const toml::node& node) {
         const toml::table* t = node.as_table();
         if (t == nullptr) return false;
         ThreatOptions& o = a.threat;
         nested = Apply(path, *t,
                        {{"half_life_s", Bind(&o.half_life_s)},
                         {"elevated", Bind(&o.elevated)},
                         {"high", Bind(&o.high)},
                         {"critical", Bind(&o.critical)},
                         {"hysteresis", Bind(&o.hysteresis)},
                         {"max_hosts", Bind(&o.max_hosts)}},
                        "threat.");
         return true;
       }},
      {"actions",
       [&](const toml::node& node) {
         const toml::array* arr = node.as_array();
         if (arr == nullptr) return false;
         for (const auto& e : *arr) {
           const toml::table* t = e.as_table();
           if (t == nullptr) return false;
           ActionConfig ac;
           std::string level = ThreatLevelName(ac.level);
           Status s = Apply(path, *t,
                            {{"level", Bind(&level)},
                             {"command", Bind(&ac.command)},
                             {"webhook", Bind(&ac.webhook)},
                             {"min_interval_s", Bind(&ac.min_interval_s)},
                             {"max_per_minute", Bind(&ac.max_per_minute)},
                             {"timeout_s", Bind(&ac.timeout_s)}},
                            "actions.");
           const std::string at = path + ":" + std::to_string(t->source().begin.line) + ": ";
           if (s.ok() && !ParseThreatLevel(level, &ac.level)) {
             s = Status::InvalidArgument(at + "action level '" + level +
                                         "' is not low, elevated, high or critical");
           }
           if (s.ok() && ac.command.empty() == ac.webhook.empty()) {
             s = Status::InvalidArgument(at + "an action needs exactly one of command, webhook");
           }
           if (!s.ok()) {
             nested = s;
             return true;
           }
           a.actions.push_back(ac);
         }
         return true;
       }},
  };
  VIGIL_RETURN_IF_ERROR(Apply(path, tbl, setters, ""));
  return nested;
}

}  // namespace vigil
