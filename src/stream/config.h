// The agent's whole configuration: the pipeline (AgentOptions), its inputs, the HTTP listener and
// the NATS JetStream connection; read from a TOML file (--config) and then from flags, flags
// winning. The TOML keys are the long flag names with '_' for '-' (batch_max, dead_letter, ...),
// plus two tables the flags do not cover:
//   [threat]   half_life_s, elevated, high, critical, hysteresis, max_hosts (see stream/threat.h)
//   [[actions]] level = "high", command = "..." or webhook = "http://...", min_interval_s,
//              max_per_minute, timeout_s
// The model subscription's keys (registry, name, channel, canary_channel, canary_share,
// model_dir, cache_dir, token_file, ca_file, trusted_key (a string or an array),
// require_signature, report_interval_s, agent_id) fill `models` (stream/model_source.h).
// Unknown keys and wrong types are errors naming the file, line and key. Stateless.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "stream/agent.h"
#include "stream/model_source.h"

namespace vigil {

struct NatsOptions {
  std::string url;                        // empty: no NATS
  std::string stream;                     // the JetStream stream holding the records
  std::string consumer = "vigil-agent";   // durable pull consumer, shared by every agent
  std::string subject;                    // filter subject; empty: the whole stream
  std::string results = "vigil.results";  // every verdict, with the record's stream sequence
  std::string alerts;                     // alerts and threat events; empty: not published
  std::string dead_letter;                // malformed records; empty: not published
  double ack_wait_s = 30;                 // redelivery after this long without an ack
  size_t fetch = 256;                     // messages per pull request
  size_t max_ack_pending = 4096;          // at most this many unacknowledged messages per consumer
};

struct AgentConfig {
  AgentOptions agent;
  std::vector<std::string> inputs;    // files, "-" for stdin
  std::string input_format = "auto";  // csv | jsonl | auto (by file extension)
  bool follow = false;
  double rate = 0;
  std::string listen;  // HOST:PORT of the HTTP API; empty: none
  size_t http_max_body = 64u << 20;
  NatsOptions nats;
  ModelSourceOptions models;  // active with a registry or a model directory
  std::string token_file;     // the registry token (else $VIGIL_REGISTRY_TOKEN)
};

Status ApplyAgentToml(const std::string& path, AgentConfig* c);

}  // namespace vigil
