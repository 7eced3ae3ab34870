// Online template mining (Drain-class) over masked token sequences.
//
// Each line (already masked, see masks.h) is routed through a fixed-depth prefix tree: first by its
// token count, then by its first `depth - 2` tokens (a token holding "<*>" goes to the wildcard
// branch, and a node with `max_children` children sends new tokens there too). In the leaf it joins
// the most similar compatible template, or starts a new one. Compatibility is stricter than
// Drain's:
//   - two different constant words never merge directly ("VM Started" vs "VM Paused" are two
//     events; "client SPP." vs "client WindowsUpdateAgent." too);
//   - tokens that are partly variable and share their leading or trailing word merge ("rdd_<*>"
//     vs "rdd_<*>_<*>", "(<*>)" vs "()"); and a template's "<*>" takes any token;
//   - the similarity (exact + variable positions + half the partial ones, over the token count)
//     must reach `similarity`.
// Words become variables by template merging instead: when `merge_distinct` templates are equal
// but for one position (and keep at least `min_constants` constant tokens elsewhere), they merge
// into one template with "<*>" there ("session closed for user cyrus/news/test/root"), and later
// templates that differ only there join it at once. A merged template keeps the smallest id; the
// others become aliases of it, so an id once handed out always resolves (Resolve) to the template
// that now holds its lines.
//
// Ids are dense integers from 1 in creation order. The whole state (options, templates, aliases,
// tree routes) saves to JSON and loads back to a miner that continues exactly as the original
// would have.
//
// Not thread-safe: one miner per thread, or external locking.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "logs/masks.h"

namespace vigil {

struct MinerOptions {
  int depth = 4;            // tree depth: the length layer, depth - 2 token layers, the leaf
  double similarity = 0.5;  // minimum similarity to join a template
  int max_children = 100;   // children per tree node before new tokens share the "<*>" branch
  int merge_distinct = 4;   // templates differing at one position that merge into one
  int min_constants = 2;    // constant tokens a merged template must keep elsewhere
  bool operator==(const MinerOptions&) const = default;
};

// InvalidArgument naming the first option out of range.
Status ValidateMinerOptions(const MinerOptions& options);

struct LogTemplate {
  int id = 0;
  std::vector<std::string> tokens;  // "<*>" marks variables
  uint64_t count = 0;               // lines (including those of merged templates)
  int alias = 0;                    // == id while live; else the id it was merged into
  std::vector<std::string> route;   // tree keys from the length layer down (for reloading)
  std::string Text() const;         // tokens joined by single spaces
};

class TemplateMiner {
 public:
  explicit TemplateMiner(MinerOptions options = {});
  TemplateMiner(TemplateMiner&&) noexcept;
  TemplateMiner& operator=(TemplateMiner&&) noexcept;
  ~TemplateMiner();

  // Adds one masked line and returns the id of the template it joined (live at return time).
  int Add(const std::vector<std::string>& tokens);
  // Follows aliases to the live template now holding `id`'s lines.
  int Resolve(int id) const;
  // The template with this id (live or alias); `id` must be in [1, size()].
  const LogTemplate& Get(int id) const { return templates_[static_cast<size_t>(id - 1)]; }
  size_t size() const { return templates_.size(); }
  size_t live_count() const;
  uint64_t lines() const { return lines_; }
  const MinerOptions& options() const { return options_; }

  nlohmann::json ToJson() const;
  static Result<TemplateMiner> FromJson(const nlohmann::json& j);

 private:
  struct Node;
  struct Score {
    int exact = -1, variable = 0;
    bool operator>(const Score& o) const {
      return exact != o.exact ? exact > o.exact : variable > o.variable;
    }
  };

  Node* FindLeaf(const std::vector<std::string>& tokens) const;
  Node* InsertLeaf(const std::vector<std::string>& tokens, std::vector<std::string>* route);
  Node* InsertRoute(const std::vector<std::string>& route);
  bool Compatible(const LogTemplate& t, const std::vector<std::string>& tokens, Score* s) const;
  // Indexes `id` by each of its positions and merges groups of siblings (see the header comment).
  void Register(int id);
  LogTemplate& At(int id) { return templates_[static_cast<size_t>(id - 1)]; }

  MinerOptions options_;
  std::unique_ptr<Node> root_;
  std::vector<LogTemplate> templates_;
  // Hash of (length, position, all tokens but that position) -> templates registered under it.
  std::unordered_map<uint64_t, std::vector<int>> siblings_;
  uint64_t lines_ = 0;
};

}  // namespace vigil
