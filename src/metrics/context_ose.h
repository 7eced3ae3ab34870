// The Contextual Anomaly Detector, Open Source Edition (CAD OSE; M. Smirnov, 2016, the
// "contextOSE" detector of NAB), written here from its published description and NAB's detector,
// with a bounded context store.
//
// Each value is quantised into 2^bits bins over the series' range; the bin number's bits are the
// point's "sensor facts" (one fact per bit position and bit value). A context is a pair (left
// facts, right facts): the left side is what was true one step earlier (the sensor facts of the
// previous point plus "neuron" facts naming the contexts that were active then), the right side is
// a set of sensor facts that followed. Contexts are learnt as the series goes:
//  - the whole (previous left group, current sensor facts) pair is a "zero-level" context;
//  - when that pair was new, partial overlaps of stored contexts with it (at most `max_left_facts`
//    left facts) become potential new contexts, stored if not seen before;
//  - each context counts how often its left side was fully present, how many of its right facts
//    then followed, and how often all of them did (its activations); the `max_active` most often
//    activated contexts that fired now become neuron facts of the next left group (ties: the
//    older context first; CAD OSE breaks ties by hash values);
//  - the prediction for the next point is the union of the right facts of the fully present
//    contexts with the best share of right facts that followed.
// Score: 0 when every sensor fact of the point was predicted; otherwise the mean of (share of the
// applicable contexts that did not fire) and (share of the potential new contexts that were really
// new), so a point that follows no learnt context and creates only new ones scores 1. After a
// score of at least `base_threshold` the detector reports 0 for `rest_period` points.
//
// Range: SetRange() with a known [min, max] (NAB gives its detectors the file's minimum and
// maximum), or, by default, the range of the values seen so far including the current one (online,
// no look-ahead). Values outside a fixed range are clamped to the end bins.
//
// Memory is bounded: at most `max_contexts` contexts (and as many left semi-contexts, with
// `kFactsPerContext` left facts each on average); once full, an unseen context still counts as new
// but is not stored. Cost: each point scans the stored left sides twice, O(stored left facts):
// about 20,000-40,000 points/s per core at the bound, which is why SeriesDetector leaves this view
// off by default (docs/metrics.md). Not thread-safe (scratch space is per thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vigil::metrics {

struct ContextOseConfig {
  int bits = 3;                  // numNormValueBits (CAD OSE default)
  double base_threshold = 0.75;  // baseThreshold (CAD OSE default)
  int rest_period = 150;         // NAB: probationary period / 5; 150 for a series of 5,000+ rows
  int max_left_facts = 7;        // maxLeftSemiContextsLenght (CAD OSE default)
  int max_active = 15;           // maxActiveNeuronsNum (CAD OSE default)
  int max_contexts = 1024;       // the bound of the context store (ours; CAD OSE has none)
};

class ContextOse {
 public:
  explicit ContextOse(const ContextOseConfig& config);
  // Fixes the quantisation range (NAB's convention); without it the range is learnt online.
  void SetRange(double min, double max);
  // Scores `value` (finite) against what was predicted, then learns from it. In [0, 1].
  double Update(double value);
  size_t MemoryBytes() const;
  size_t contexts() const { return contexts_.size(); }

  static constexpr int kFactsPerContext = 8;  // left-fact arena per stored context (average)

 private:
  struct Context {
    int32_t left;    // left semi-context
    int32_t next;    // next context of the same left semi-context, -1 at the end
    uint16_t right;  // right facts: a mask of sensor facts
    uint8_t zero_level;
    uint8_t pad = 0;
    float seen = 0;      // right facts expected so far (left side fully present)
    float followed = 0;  // right facts that followed
    uint32_t fired = 0;  // times all right facts followed
  };
  struct LeftSemi {
    uint32_t begin;  // facts in arena_[begin, begin + size)
    uint16_t size;
    uint16_t overlap;  // facts present in the current left group
    int32_t first;     // first context, -1 if none
    uint64_t hash;
  };

  int Quantise(double value);
  int32_t FindLeft(const uint16_t* facts, int n, uint64_t hash) const;
  int32_t AddLeft(const uint16_t* facts, int n, uint64_t hash);
  // Looks the context up and stores it if it is new (and there is room). Returns true if new;
  // `id` receives the stored context or -1.
  bool FindOrAdd(const uint16_t* left, int n, uint16_t right, bool zero_level, int32_t* id);
  static uint64_t Hash(const uint16_t* facts, int n);

  ContextOseConfig config_;
  int sensor_facts_;
  bool fixed_range_ = false;
  double min_ = 0, max_ = 0;
  int64_t n_ = 0;
  std::vector<Context> contexts_;
  std::vector<LeftSemi> lefts_;
  std::vector<uint16_t> arena_;
  std::vector<int32_t> table_;    // open addressing: left semi-context index by hash, -1 empty
  std::vector<uint16_t> group_;   // current left group: sensor facts, then neuron facts
  std::vector<uint64_t> member_;  // bitmap of group_
  uint16_t predicted_ = 0;        // sensor facts predicted for the next point
  int since_high_ = 0;            // scores since the last one >= base_threshold
};

}  // namespace vigil::metrics
