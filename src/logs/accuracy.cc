#include "logs/accuracy.h"

#include <cassert>
#include <unordered_map>

namespace vigil {

double GroupingAccuracy(const std::vector<std::string>& truth, const std::vector<int>& predicted) {
  assert(truth.size() == predicted.size());
  if (truth.empty()) return 1.0;
  std::unordered_map<std::string, std::vector<size_t>> groups;
  std::unordered_map<int, size_t> predicted_size;
  for (size_t i = 0; i < truth.size(); ++i) {
    groups[truth[i]].push_back(i);
    ++predicted_size[predicted[i]];
  }
  size_t correct = 0;
  for (const auto& [event, lines] : groups) {
    int id = predicted[lines.front()];
    bool same = predicted_size[id] == lines.size();
    for (size_t i : lines) same = same && predicted[i] == id;
    if (same) correct += lines.size();
  }
  return static_cast<double>(correct) / static_cast<double>(truth.size());
}

}  // namespace vigil
