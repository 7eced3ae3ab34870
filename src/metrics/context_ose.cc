#include "metrics/context_ose.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace vigil::metrics {
namespace {

constexpr int kNeuronBase = 16;  // fact ids below are sensor facts (2 per bit, bits <= 8)

struct Potential {
  uint32_t begin;  // left facts in the scratch arena
  uint16_t size;
  uint16_t right;
  uint64_t hash;
};

// Per-thread scratch space, so that a detector holds only its store.
struct Scratch {
  std::vector<uint16_t> facts;
  std::vector<Potential> potentials;
  std::vector<std::pair<uint32_t, int32_t>> active;  // (fired, context)
  std::vector<uint16_t> group;
};

Scratch& GetScratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

ContextOse::ContextOse(const ContextOseConfig& config)
    : config_(config), sensor_facts_(2 * std::clamp(config.bits, 1, 8)) {
  config_.bits = sensor_facts_ / 2;
  config_.max_contexts = std::clamp(config_.max_contexts, 1, 65535 - kNeuronBase);
}

void ContextOse::SetRange(double min, double max) {
  fixed_range_ = true;
  min_ = std::min(min, max);
  max_ = std::max(min, max);
}

size_t ContextOse::MemoryBytes() const {
  return sizeof(*this) + contexts_.capacity() * sizeof(Context) +
         lefts_.capacity() * sizeof(LeftSemi) + arena_.capacity() * sizeof(uint16_t) +
         table_.capacity() * sizeof(int32_t) + group_.capacity() * sizeof(uint16_t) +
         member_.capacity() * sizeof(uint64_t);
}

int ContextOse::Quantise(double value) {
  const double top = std::ldexp(1.0, config_.bits) - 1;  // the highest bin
  if (!fixed_range_) {
    // Online: the range of the values seen so far, this one included.
    if (n_ == 0) {
      min_ = max_ = value;
    } else {
      min_ = std::min(min_, value);
      max_ = std::max(max_, value);
    }
  }
  double range = max_ - min_;
  if (!(range > 0)) range = top;  // a constant series: CAD OSE's convention
  const double bin = std::floor((value - min_) / (range / top));
  return static_cast<int>(std::clamp(bin, 0.0, top));
}

uint64_t ContextOse::Hash(const uint16_t* facts, int n) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ static_cast<uint64_t>(n);
  for (int i = 0; i < n; ++i) {
    h ^= facts[i] + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
  }
  return h ^ (h >> 33);
}

int32_t ContextOse::FindLeft(const uint16_t* facts, int n, uint64_t hash) const {
  if (table_.empty()) return -1;
  const size_t mask = table_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const int32_t id = table_[i];
    if (id < 0) return -1;
    const LeftSemi& l = lefts_[id];
    if (l.hash == hash && l.size == n && std::equal(facts, facts + n, &arena_[l.begin])) return id;
  }
}

int32_t ContextOse::AddLeft(const uint16_t* facts, int n, uint64_t hash) {
  const size_t cap = static_cast<size_t>(config_.max_contexts);
  if (lefts_.size() >= cap || arena_.size() + n > cap * kFactsPerContext) return -1;
  // Keep the table at most half full.
  if (2 * (lefts_.size() + 1) > table_.size()) {
    table_.assign(std::max<size_t>(16, 2 * table_.size()), -1);
    const size_t mask = table_.size() - 1;
    for (size_t id = 0; id < lefts_.size(); ++id) {
      size_t i = lefts_[id].hash & mask;
      while (table_[i] >= 0) i = (i + 1) & mask;
      table_[i] = static_cast<int32_t>(id);
    }
  }
  const int32_t id = static_cast<int32_t>(lefts_.size());
  lefts_.push_back(
      LeftSemi{static_cast<uint32_t>(arena_.size()), static_cast<uint16_t>(n), 0, -1, hash});
  arena_.insert(arena_.end(), facts, facts + n);
  const size_t mask = table_.size() - 1;
  size_t i = hash & mask;
  while (table_[i] >= 0) i = (i + 1) & mask;
  table_[i] = id;
  return id;
}

bool ContextOse::FindOrAdd(const uint16_t* left, int n, uint16_t right, bool zero_level,
                           int32_t* id) {
  *id = -1;
  const uint64_t hash = Hash(left, n);
  int32_t l = FindLeft(left, n, hash);
  if (l >= 0) {
    for (int32_t c = lefts_[l].first; c >= 0; c = contexts_[c].next) {
      if (contexts_[c].right == right) {
        if (zero_level) contexts_[c].zero_level = 1;
        return false;
      }
    }
  }
  // New: store it if there is room.
  if (contexts_.size() >= static_cast<size_t>(config_.max_contexts)) return true;
  if (l < 0) l = AddLeft(left, n, hash);
  if (l < 0) return true;
  Context c{};
  c.left = l;
  c.next = lefts_[l].first;
  c.right = right;
  c.zero_level = zero_level ? 1 : 0;
  *id = static_cast<int32_t>(contexts_.size());
  lefts_[l].first = *id;
  contexts_.push_back(c);
  return true;
}

double ContextOse::Update(double value) {
  if (!std::isfinite(value)) return 0;
  if (member_.empty()) member_.assign((kNeuronBase + config_.max_contexts + 63) / 64, 0);
  Scratch& s = GetScratch();
  const int bin = Quantise(value);
  uint16_t sensed = 0;  // sensor facts: fact 2k + b for bit k of the bin having value b
  for (int k = 0; k < config_.bits; ++k) sensed |= uint16_t{1} << (2 * k + ((bin >> k) & 1));
  // CAD OSE scores a point only when its prediction error (the weights 2^k of the sensed bits
  // that the last step did not predict) is above 0, i.e. when some sensed fact was not predicted.
  const bool surprised = (sensed & ~predicted_) != 0;

  // 1. The zero-level context: (previous left group, current sensor facts).
  bool new_flag = false;
  int32_t new_id = -1;
  s.potentials.clear();
  s.facts.clear();
  if (!group_.empty()) {
    new_flag = FindOrAdd(group_.data(), static_cast<int>(group_.size()), sensed, true, &new_id);
  }
  // 2. Update the contexts whose left side overlapped the previous group; collect those that
  //    fired and the potential new contexts (partial overlaps), when the zero-level one was new.
  int selected = 0;
  s.active.clear();
  for (int32_t li = 0; li < static_cast<int32_t>(lefts_.size()); ++li) {
    LeftSemi& l = lefts_[li];
    if (l.overlap == 0) continue;
    const bool full_left = l.overlap == l.size;
    for (int32_t ci = l.first; ci >= 0; ci = contexts_[ci].next) {
      if (ci == new_id) continue;
      Context& c = contexts_[ci];
      const int right_size = std::popcount(static_cast<unsigned>(c.right));
      const uint16_t common = c.right & sensed;
      const int right_overlap = std::popcount(static_cast<unsigned>(common));
      bool potential = false;
      if (full_left) {
        ++selected;
        c.seen += static_cast<float>(right_size);
        if (right_overlap > 0) {
          c.followed += static_cast<float>(right_overlap);
          if (right_overlap == right_size) {
            ++c.fired;
            s.active.emplace_back(c.fired, ci);
          } else {
            potential = true;
          }
        }
      } else {
        potential = right_overlap > 0;
      }
      if (potential && c.zero_level && new_flag && l.overlap <= config_.max_left_facts) {
        // Left facts: this left side's facts that were in the previous group.
        const uint32_t begin = static_cast<uint32_t>(s.facts.size());
        for (int i = 0; i < l.size; ++i) {
          const uint16_t f = arena_[l.begin + i];
          if ((member_[f >> 6] >> (f & 63)) & 1) s.facts.push_back(f);
        }
        const int n = static_cast<int>(s.facts.size() - begin);
        s.potentials.push_back(
            Potential{begin, static_cast<uint16_t>(n), common, Hash(&s.facts[begin], n)});
      }
    }
  }
  const double share_active = selected > 0 ? static_cast<double>(s.active.size()) / selected : 0.0;
  // Unique potential new contexts (the zero-level one included, as in CAD OSE).
  auto same = [&](const Potential& a, const Potential& b) {
    return a.hash == b.hash && a.right == b.right && a.size == b.size &&
           std::equal(&s.facts[a.begin], &s.facts[a.begin] + a.size, &s.facts[b.begin]);
  };
  std::sort(s.potentials.begin(), s.potentials.end(), [](const Potential& a, const Potential& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.right < b.right;
  });
  size_t unique = 0;
  for (size_t i = 0; i < s.potentials.size(); ++i) {
    bool dup = false;
    for (size_t j = i; j-- > 0 && s.potentials[j].hash == s.potentials[i].hash;) {
      if (same(s.potentials[j], s.potentials[i])) {
        dup = true;
        break;
      }
    }
    if (!dup) s.potentials[unique++] = s.potentials[i];
  }
  s.potentials.resize(unique);
  size_t unique_with_zero = unique;
  if (!group_.empty()) {
    const uint64_t zh = Hash(group_.data(), static_cast<int>(group_.size()));
    bool zero_among = false;
    for (const Potential& p : s.potentials) {
      if (p.hash == zh && p.right == sensed && p.size == group_.size() &&
          std::equal(group_.begin(), group_.end(), &s.facts[p.begin])) {
        zero_among = true;
      }
    }
    if (!zero_among) ++unique_with_zero;
  }
  // 3. The next left group: the sensor facts and the most often fired active contexts.
  std::sort(s.active.begin(), s.active.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  if (s.active.size() > static_cast<size_t>(config_.max_active)) {
    s.active.resize(config_.max_active);
  }
  group_.clear();
  for (int f = 0; f < sensor_facts_; ++f) {
    if ((sensed >> f) & 1) group_.push_back(static_cast<uint16_t>(f));
  }
  const size_t first_neuron = group_.size();
  for (const auto& a : s.active) group_.push_back(static_cast<uint16_t>(kNeuronBase + a.second));
  std::sort(group_.begin() + static_cast<std::ptrdiff_t>(first_neuron), group_.end());
  // 4. Store the potential new contexts; count those really new.
  int added = new_flag ? 1 : 0;
  for (const Potential& p : s.potentials) {
    int32_t id;
    if (FindOrAdd(&s.facts[p.begin], p.size, p.right, false, &id)) ++added;
  }
  // 5. Cross the left sides with the new group and predict the next sensor facts: the right sides
  //    of the fully present contexts with the best share of followed right facts.
  std::fill(member_.begin(), member_.end(), 0);
  for (uint16_t f : group_) member_[f >> 6] |= uint64_t{1} << (f & 63);
  double best = 0;
  uint16_t predicted = 0;
  for (LeftSemi& l : lefts_) {
    int overlap = 0;
    const uint16_t* f = &arena_[l.begin];
    for (int i = 0; i < l.size; ++i) overlap += (member_[f[i] >> 6] >> (f[i] & 63)) & 1;
    l.overlap = static_cast<uint16_t>(overlap);
    if (overlap != l.size) continue;
    for (int32_t ci = l.first; ci >= 0; ci = contexts_[ci].next) {
      const Context& c = contexts_[ci];
      const double w = c.seen > 0 ? c.followed / c.seen : 0.0;
      if (w > best) {
        best = w;
        predicted = c.right;
      } else if (w == best) {
        predicted |= c.right;
      }
    }
  }
  predicted_ = predicted;
  const double share_new =
      new_flag && unique_with_zero > 0 ? static_cast<double>(added) / unique_with_zero : 0.0;
  const double current = surprised ? (1.0 - share_active + share_new) / 2.0 : 0.0;
  // Rest: nothing is reported within rest_period points of a high score (the first points too).
  const double reported = since_high_ >= config_.rest_period ? current : 0.0;
  if (current >= config_.base_threshold) {
    since_high_ = 0;
  } else if (since_high_ < (1 << 30)) {
    ++since_high_;
  }
  ++n_;
  return std::clamp(reported, 0.0, 1.0);
}

}  // namespace vigil::metrics
