// DeepLog on log-key sessions (training plane): training, loading a bundle, judging sessions and
// evaluating them.
//
// Every symbol of a session is judged: the session is encoded as [start x h] k1 ... kn [end]
// (data/sessions.h) and each key and the end are predicted from the h symbols before them. A symbol
// is expected when it is among the g most probable (DeepLog's rule) and its probability is not
// below the bundle's floor: its surprise, -ln p, is at most the threshold. A key never seen in
// training is never expected. A session is anomalous when any of its symbols is unexpected, so a
// session that stops too early is caught by its end symbol, one that runs on by the key after the
// expected end, and no rule looks at a session's length.
//
// Why the floor: with few keys (HDFS has 14 in training, 17 symbols with start, end and unknown)
// the top g is most of the vocabulary, and which improbable symbols fill its last places is
// arbitrary; a session that stops early often passes the top 9 (recall 0.63 on HDFS) and even the
// top 5 on some seeds, while its end is far less probable than anything in normal sessions.
//
// Score of a symbol: its surprise -ln p, capped at kDeepLogCap - 1; kDeepLogCap when it is
// outside the top g or an unknown key. Score of a session: the maximum over its symbols; anomalous
// iff score > threshold. The threshold is chosen on validation sessions (below) and kept below the
// cap, so the top-g rule always applies; a threshold of kDeepLogCap - 0.5 is DeepLog's pure top-g
// rule (`--threshold topg`), and `vigil eval --threshold T` judges with another floor.
//
// TrainDeepLog (reached through Train() when config.model is "deeplog") reads a `sessions` or
// `sessions-csv` file, takes a random validation split of its sessions (--valid-split, seeded),
// builds the key vocabulary from the normal sessions of the training part, and trains on their
// (window, next symbol) pairs only: identical pairs are merged and weighted by their count, which
// gives the same loss as every window of every session at a fraction of the cost. It early-stops on
// the validation loss (normal validation sessions) and keeps the best epoch. The threshold: with
// config.threshold "f1" and anomalies among the validation sessions, the best F1 there; else
// ("far") the lowest at which the floor itself flags at most target_far of the normal validation
// sessions that the top-g and unknown-key rules leave (those rules flag some normal sessions
// whatever the threshold); "topg" is the pure top-g rule. No test file is read.
//
// Not thread-safe (LibTorch's global thread count and seed; the network holds state).
#pragma once

#include <string>
#include <vector>

#include "bundle/bundle.h"
#include "core/status.h"
#include "data/sessions.h"
#include "eval/metrics.h"
#include "model/deeplog.h"
#include "train/config.h"
#include "train/trainer.h"

namespace vigil {

// Score of a symbol outside the top g or unknown; surprises are capped one below it.
inline constexpr float kDeepLogCap = 100;

struct DeepLogModel {
  Bundle bundle;
  DeepLogSpec spec;
  KeyVocabulary vocab;
  DeepLogNet net{nullptr};
  double threshold = kDeepLogCap - 0.5;  // on the session score (nats of surprise)
};

struct SessionVerdict {
  bool anomaly = false;
  float score = 0;  // the maximum symbol score (see above)
  // The first unexpected symbol (anomalies only): its 1-based position in the session
  // (keys + 1 = the end), the key ("<end>" for the end), its probability, and the symbols the
  // model expected there: those of the top g that pass the threshold, most probable first
  // ("<end>" when it expected the session to stop).
  size_t position = 0;
  std::string key;
  bool unknown_key = false;  // the key was never seen in training
  float probability = 0;
  std::vector<std::string> expected;
};

// True when the bundle holds a deeplog model (metadata model.type).
bool IsDeepLogBundle(const Bundle& bundle);

Result<TrainSummary> TrainDeepLog(const TrainConfig& config);

Result<DeepLogModel> LoadDeepLog(const std::string& path);
Result<DeepLogModel> DeepLogFromBundle(Bundle bundle);

// Judges every session with the model's g and threshold. Identical windows are run through the
// network once; `batch` windows per forward pass.
std::vector<SessionVerdict> JudgeSessions(DeepLogModel& m, const SessionSet& sessions,
                                          int64_t batch = 4096);

// The same on sessions already encoded (EncodeSession with the network's window) for `vocab`;
// keys in the verdicts are vocabulary names ("<unknown>" for an unknown key).
std::vector<SessionVerdict> JudgeEncoded(DeepLogNetImpl& net, const KeyVocabulary& vocab,
                                         const std::vector<std::vector<int64_t>>& encoded,
                                         double threshold, int64_t batch = 4096);

// Scores a labelled session set: binary report, anomaly = positive, classes normal/anomaly.
Result<EvalReport> EvaluateSessions(DeepLogModel& m, const SessionSet& sessions);

}  // namespace vigil
