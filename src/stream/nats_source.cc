#include "stream/nats_source.h"

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

namespace vigil {
namespace {

std::string NatsError(natsStatus s) {
  const char* last = nats_GetLastError(nullptr);
  std::string m = natsStatus_GetText(s);
  if (last != nullptr && *last != '\0' && m != last) m += " (" + std::string(last) + ")";
  return m;
}

}  // namespace

// Publishes with JetStream acknowledgements; Flush waits for them all.
class NatsSource::Pub : public Publisher {
 public:
  explicit Pub(const NatsOptions& o) : o_(o) {}
  void set_js(jsCtx* js) { js_ = js; }

  void PublishAlert(const std::string& json) override { Publish(o_.alerts, json); }
  void PublishDeadLetter(const std::string& json) override { Publish(o_.dead_letter, json); }
  void PublishResult(const std::string& json) { Publish(o_.results, json); }

  Status Flush() override {
    if (published_ == 0) return Status::Ok();
    published_ = 0;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 10000;
    natsStatus s = js_PublishAsyncComplete(js_, &po);
    const uint64_t failed = failures_.exchange(0);
    if (s != NATS_OK)
      return Status::IOError("NATS: publications not acknowledged: " + NatsError(s));
    if (failed > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      return Status::IOError("NATS: " + std::to_string(failed) +
                             " publications failed: " + last_error_);
    }
    return Status::Ok();
  }

  // jsOptions.PublishAsync.ErrHandler.
  static void OnError(jsCtx*, jsPubAckErr* pae, void* closure) {
    auto* self = static_cast<Pub*>(closure);
    self->failures_.fetch_add(1);
    std::lock_guard<std::mutex> lock(self->mu_);
    self->last_error_ = pae->ErrText != nullptr ? pae->ErrText : natsStatus_GetText(pae->Err);
  }

 private:
  void Publish(const std::string& subject, const std::string& data) {
    if (subject.empty()) return;
    natsStatus s =
        js_PublishAsync(js_, subject.c_str(), data.data(), static_cast<int>(data.size()), nullptr);
    ++published_;
    if (s != NATS_OK) {
      failures_.fetch_add(1);
      std::lock_guard<std::mutex> lock(mu_);
      last_error_ = NatsError(s);
    }
  }

  jsCtx* js_ = nullptr;
  const NatsOptions& o_;
  uint64_t published_ = 0;
  std::atomic<uint64_t> failures_{0};
  std::mutex mu_;
  std::string last_error_;
};

namespace {

// The messages of one fetch; acknowledged batch by batch as the agent finishes them.
class NatsReply : public Reply {
 public:
  NatsReply(NatsSource::Pub* pub, Counter* acks, Counter* naks, bool publish_results)
      : pub_(pub), acks_(acks), naks_(naks), publish_results_(publish_results) {}
  ~NatsReply() override {
    for (natsMsg* m : msgs_) {
      if (m != nullptr) natsMsg_Destroy(m);
    }
  }

  // Fetch thread, before the records are submitted.
  uint64_t Add(natsMsg* m, uint64_t seq) {
    msgs_.push_back(m);
    seqs_.push_back(seq);
    return msgs_.size() - 1;
  }
  // Fetch thread: messages never submitted (the agent is stopping) go back to the stream.
  void NakFrom(size_t first) {
    for (size_t i = first; i < msgs_.size(); ++i) {
      natsMsg_Nak(msgs_[i], nullptr);
      naks_->Add();
      natsMsg_Destroy(msgs_[i]);
      msgs_[i] = nullptr;
    }
  }

  void Deliver(uint64_t tag, const Verdict& v) override {
    if (publish_results_) {
      std::string r = "{\"seq\":" + std::to_string(seqs_[tag]) + "," +
                      (v.json.size() > 1 ? v.json.substr(1) : "}");
      pub_->PublishResult(r);
    }
    pending_.push_back(tag);
  }

  void BatchDone(const Status& outputs) override {
    Status s = outputs;
    if (s.ok()) s = pub_->Flush();  // the verdicts published in Deliver
    if (!s.ok()) {
      std::fprintf(stderr, "vigil-agent: %s; %zu records will be redelivered\n",
                   s.message().c_str(), pending_.size());
    }
    for (uint64_t tag : pending_) {
      natsMsg* m = msgs_[tag];
      if (s.ok()) {
        natsMsg_Ack(m, nullptr);
        acks_->Add();
      } else {
        natsMsg_Nak(m, nullptr);
        naks_->Add();
      }
      natsMsg_Destroy(m);
      msgs_[tag] = nullptr;
    }
    pending_.clear();
  }

 private:
  NatsSource::Pub* pub_;
  Counter *acks_, *naks_;
  bool publish_results_;
  std::vector<natsMsg*> msgs_;
  std::vector<uint64_t> seqs_;
  std::vector<uint64_t> pending_;
};

}  // namespace

NatsSource::NatsSource(Agent* agent, const NatsOptions& o) : agent_(agent), o_(o) {
  Metrics& m = agent_->metrics();
  acks_ = m.AddCounter("vigil_agent_nats_acks_total", "Records acknowledged to JetStream.");
  naks_ = m.AddCounter("vigil_agent_nats_naks_total",
                       "Records handed back to JetStream for redelivery.");
  fetched_ = m.AddCounter("vigil_agent_nats_fetched_total", "Messages fetched from JetStream.");
  pending_ = m.AddGauge("vigil_agent_nats_pending",
                        "Messages in the stream not yet delivered to this consumer (lag).");
}

NatsSource::~NatsSource() {
  if (sub_ != nullptr) natsSubscription_Destroy(sub_);
  if (js_ != nullptr) jsCtx_Destroy(js_);
  if (nc_ != nullptr) {
    natsConnection_Flush(nc_);
    natsConnection_Destroy(nc_);
  }
}

Result<std::unique_ptr<NatsSource>> NatsSource::Connect(Agent* agent, const NatsOptions& o) {
  std::unique_ptr<NatsSource> s(new NatsSource(agent, o));
  VIGIL_RETURN_IF_ERROR(s->Open());
  return s;
}

Publisher* NatsSource::publisher() { return pub_.get(); }

Status NatsSource::CheckSubject(const std::string& subject, const char* what) {
  if (subject.empty()) return Status::Ok();
  // Ask JetStream which streams capture the subject.
  const std::string req = nlohmann::json{{"subject", subject}}.dump();
  natsMsg* reply = nullptr;
  natsStatus s = natsConnection_Request(&reply, nc_, "$JS.API.STREAM.NAMES", req.data(),
                                        static_cast<int>(req.size()), 5000);
  if (s != NATS_OK) {
    return Status::IOError(
        "NATS: cannot list JetStream streams (is JetStream enabled? start "
        "nats-server with -js): " +
        NatsError(s));
  }
  nlohmann::json j = nlohmann::json::parse(
      std::string(natsMsg_GetData(reply), static_cast<size_t>(natsMsg_GetDataLength(reply))),
      nullptr, false);
  natsMsg_Destroy(reply);
  if (j.is_discarded() || !j.contains("streams") || !j["streams"].is_array() ||
      j["streams"].empty()) {
    return Status::InvalidArgument(std::string("NATS: no JetStream stream captures the ") + what +
                                   " subject '" + subject +
                                   "'; add it to a stream so nothing published there is lost");
  }
  return Status::Ok();
}

Status NatsSource::Open() {
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  natsOptions_SetURL(opts, o_.url.c_str());
  natsOptions_SetMaxReconnect(opts, -1);
  natsOptions_SetReconnectWait(opts, 500);
  natsOptions_SetName(opts, "vigil-agent");
  natsStatus s = natsConnection_Connect(&nc_, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) {
    return Status::IOError("NATS: cannot connect to " + o_.url + ": " + NatsError(s));
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  pub_ = std::make_unique<Pub>(o_);
  jo.PublishAsync.ErrHandler = &Pub::OnError;
  jo.PublishAsync.ErrHandlerClosure = pub_.get();
  jo.PublishAsync.MaxPending = 8192;
  s = natsConnection_JetStream(&js_, nc_, &jo);
  if (s != NATS_OK) return Status::IOError("NATS: no JetStream context: " + NatsError(s));
  pub_->set_js(js_);

  VIGIL_RETURN_IF_ERROR(CheckSubject(o_.alerts, "alerts"));
  VIGIL_RETURN_IF_ERROR(CheckSubject(o_.dead_letter, "dead-letter"));
  if (o_.stream.empty()) return Status::Ok();  // publishing only
  VIGIL_RETURN_IF_ERROR(CheckSubject(o_.results, "results"));

  jsErrCode err = static_cast<jsErrCode>(0);
  jsStreamInfo* si = nullptr;
  s = js_GetStreamInfo(&si, js_, o_.stream.c_str(), nullptr, &err);
  if (s != NATS_OK) {
    return Status::NotFound("NATS: JetStream stream '" + o_.stream + "' not found on " + o_.url +
                            ": " + NatsError(s));
  }
  jsStreamInfo_Destroy(si);
  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = o_.consumer.c_str();
  cc.AckPolicy = js_AckExplicit;
  cc.AckWait = static_cast<int64_t>(o_.ack_wait_s * 1e9);
  cc.MaxAckPending = static_cast<int64_t>(o_.max_ack_pending);
  if (!o_.subject.empty()) cc.FilterSubject = o_.subject.c_str();
  jsConsumerInfo* ci = nullptr;
  s = js_GetConsumerInfo(&ci, js_, o_.stream.c_str(), o_.consumer.c_str(), nullptr, &err);
  if (s == NATS_NOT_FOUND) {
    s = js_AddConsumer(&ci, js_, o_.stream.c_str(), &cc, nullptr, &err);
    if (s != NATS_OK) {
      // Another agent may have created it in the meantime.
      s = js_GetConsumerInfo(&ci, js_, o_.stream.c_str(), o_.consumer.c_str(), nullptr, &err);
    }
  }
  if (s != NATS_OK) {
    return Status::IOError("NATS: cannot create or find consumer '" + o_.consumer +
                           "' on stream '" + o_.stream + "': " + NatsError(s));
  }
  jsConsumerInfo_Destroy(ci);
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = o_.stream.c_str();
  so.Consumer = o_.consumer.c_str();
  s = js_PullSubscribe(&sub_, js_, o_.subject.empty() ? nullptr : o_.subject.c_str(),
                       o_.consumer.c_str(), nullptr, &so, &err);
  if (s != NATS_OK) {
    return Status::IOError("NATS: cannot bind to consumer '" + o_.consumer + "': " + NatsError(s));
  }
  const std::string name = "nats:" + o_.stream;
  json_input_ = agent_->AddInput({name, RecordKind::kJson, false});
  csv_input_ = agent_->AddInput({name, RecordKind::kCsv, false});
  return Status::Ok();
}

Status NatsSource::Run(const std::atomic<bool>* stop) {
  if (sub_ == nullptr) return Status::Ok();
  const size_t max_bytes = agent_->options().max_record_bytes;
  while (!stop->load() && !agent_->stopping()) {
    natsMsgList list{};
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = natsSubscription_Fetch(&list, sub_, static_cast<int>(o_.fetch), 500, &err);
    if (s == NATS_TIMEOUT || (s == NATS_OK && list.Count == 0)) {
      natsMsgList_Destroy(&list);
      continue;
    }
    if (s != NATS_OK) {
      natsMsgList_Destroy(&list);
      std::fprintf(stderr, "vigil-agent: NATS fetch failed: %s; retrying\n", NatsError(s).c_str());
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    fetched_->Add(static_cast<uint64_t>(list.Count));
    auto reply = std::make_shared<NatsReply>(pub_.get(), acks_, naks_, !o_.results.empty());
    std::vector<Item> items;
    for (int i = 0; i < list.Count; ++i) {
      natsMsg* m = list.Msgs[i];
      list.Msgs[i] = nullptr;  // owned by the reply now
      uint64_t seq = 0;
      jsMsgMetaData* meta = nullptr;
      if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        seq = meta->Sequence.Stream;
        pending_->Set(static_cast<double>(meta->NumPending));
        jsMsgMetaData_Destroy(meta);
      }
      Item item;
      item.tag = reply->Add(m, seq);
      item.position = seq;
      item.reply = reply;
      const char* data = natsMsg_GetData(m);
      const auto len = static_cast<size_t>(natsMsg_GetDataLength(m));
      size_t first = 0;
      while (first < len && (data[first] == ' ' || data[first] == '\t')) ++first;
      const bool json = first < len && data[first] == '{';
      item.kind = json ? RecordKind::kJson : RecordKind::kCsv;
      item.input = json ? json_input_ : csv_input_;
      if (len > max_bytes) {
        item.oversized = len;
        item.text.assign(data, std::min<size_t>(len, 64 << 10));
      } else {
        item.text.assign(data, len);
        // A CSV message may end with a newline.
        while (!json && !item.text.empty() &&
               (item.text.back() == '\n' || item.text.back() == '\r'))
          item.text.pop_back();
      }
      items.push_back(std::move(item));
    }
    natsMsgList_Destroy(&list);
    for (size_t i = 0; i < items.size(); ++i) {
      if (!agent_->Submit(std::move(items[i]))) {
        reply->NakFrom(i);
        break;
      }
    }
  }
  return Status::Ok();
}

}  // namespace vigil
