// NATS JetStream for the agent: records in, verdicts, alerts and dead letters out, at least once.
//
// Input: a durable pull consumer (NatsOptions::consumer) on an existing stream. Every agent started
// with the same stream and consumer shares it, so each record goes to one agent. A record's
// message is acknowledged only after its verdict, and any alert it raised, have been published and
// stored by JetStream (and the local outputs flushed); if that fails the message is negatively
// acknowledged and comes back. An agent that dies leaves its unacknowledged messages to be
// redelivered to the others after ack_wait_s. Verdicts carry the record's stream sequence ("seq")
// so a consumer of the results can drop the duplicates that redelivery may cause. Messages are JSON
// objects (first non-space byte '{') or CSV records in the schema's column order.
//
// Output: the Publisher for the agent (alerts, threat events, dead letters), publishing with
// JetStream acknowledgements, so a subject no stream captures is an error at start-up, not a
// silent loss. With --nats and no --stream the agent only publishes.
//
// Connect() checks the stream and output subjects and creates the consumer if it does not exist.
// Run() fetches until `stop` is set or the agent stops. Thread-safety: Run on one thread; the
// Publisher and replies are used by the agent's scoring thread.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <memory>

#include "core/status.h"
#include "stream/agent.h"
#include "stream/config.h"

namespace vigil {

class NatsSource {
 public:
  static Result<std::unique_ptr<NatsSource>> Connect(Agent* agent, const NatsOptions& o);
  ~NatsSource();

  Publisher* publisher();
  Status Run(const std::atomic<bool>* stop);

  class Pub;

 private:
  NatsSource(Agent* agent, const NatsOptions& o);
  Status Open();
  Status CheckSubject(const std::string& subject, const char* what);

  Agent* agent_;
  NatsOptions o_;
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
  natsSubscription* sub_ = nullptr;
  std::unique_ptr<Pub> pub_;
  uint32_t json_input_ = 0, csv_input_ = 0;
  Counter *acks_, *naks_, *fetched_;
  Gauge* pending_;
};

}  // namespace vigil
