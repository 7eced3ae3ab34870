#include "logs/miner.h"

#include <algorithm>

namespace vigil {

struct TemplateMiner::Node {
  std::unordered_map<std::string, std::unique_ptr<Node>> children;
  std::vector<int> templates;
};

namespace {

const std::string& WildcardKey() {
  static const std::string k(kWildcard);
  return k;
}

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(char c) { return IsAlpha(c) || (c >= '0' && c <= '9'); }

std::string_view FirstWord(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && !IsAlpha(s[i])) ++i;
  size_t j = i;
  while (j < s.size() && IsAlpha(s[j])) ++j;
  return s.substr(i, j - i);
}

std::string_view LastWord(std::string_view s) {
  size_t j = s.size();
  while (j > 0 && !IsAlpha(s[j - 1])) --j;
  size_t i = j;
  while (i > 0 && IsAlpha(s[i - 1])) --i;
  return s.substr(i, j - i);
}

// Partly variable tokens are the same variable when they share their first or last word, or one
// has no words ("rdd_<*>" vs "rdd_<*>_<*>", "(<*>)" vs "()").
bool RelatedWords(std::string_view a, std::string_view b) {
  std::string_view fa = FirstWord(a), fb = FirstWord(b);
  if (fa.empty() || fb.empty()) return true;
  return fa == fb || LastWord(a) == LastWord(b);
}

// Structure such as "-" or "****" (but not empty brackets, which are an empty value).
bool PunctuationOnly(std::string_view t) {
  if (t.empty() || HasWildcard(t)) return false;
  for (char c : t) {
    if (IsAlnum(c)) return false;
  }
  return !(t == "()" || t == "[]" || t == "{}" || t == "<>" || t == "''" || t == "\"\"");
}

// Hashes of the token sequence with one position left out, for every position, in O(length):
// a polynomial over the token hashes, prefix and suffix combined. Mixed with the length and the
// position, so that equal keys mean (almost surely) the same template but for that position.
std::vector<uint64_t> HashesExcept(const std::vector<std::string>& tokens) {
  constexpr uint64_t kBase = 1099511628211ull;
  const size_t n = tokens.size();
  std::vector<uint64_t> prefix(n + 1, 0), suffix(n + 1, 0), power(n + 1, 1);
  for (size_t i = 0; i < n; ++i) {
    prefix[i + 1] = prefix[i] * kBase + std::hash<std::string>{}(tokens[i]);
    power[i + 1] = power[i] * kBase;
  }
  for (size_t i = n; i-- > 0;) {
    suffix[i] = std::hash<std::string>{}(tokens[i]) * power[n - 1 - i] + suffix[i + 1];
  }
  std::vector<uint64_t> out(n);
  for (size_t p = 0; p < n; ++p) {
    uint64_t h = prefix[p] * power[n - 1 - p] + suffix[p + 1];
    h ^= (static_cast<uint64_t>(n) << 32) ^ p;
    h *= 0x9e3779b97f4a7c15ull;
    out[p] = h ^ (h >> 29);
  }
  return out;
}

bool SameExcept(const std::vector<std::string>& a, const std::vector<std::string>& b,
                size_t position) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (i != position && a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace

Status ValidateMinerOptions(const MinerOptions& o) {
  if (o.depth < 2) return Status::InvalidArgument("miner: depth must be at least 2");
  if (!(o.similarity >= 0.0 && o.similarity <= 1.0)) {
    return Status::InvalidArgument("miner: similarity must be in [0, 1]");
  }
  if (o.max_children < 1) return Status::InvalidArgument("miner: max_children must be >= 1");
  if (o.merge_distinct < 2) return Status::InvalidArgument("miner: merge_distinct must be >= 2");
  if (o.min_constants < 0) return Status::InvalidArgument("miner: min_constants must be >= 0");
  return Status::Ok();
}

std::string LogTemplate::Text() const {
  std::string s;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) s.push_back(' ');
    s += tokens[i];
  }
  return s;
}

TemplateMiner::TemplateMiner(MinerOptions options)
    : options_(options), root_(std::make_unique<Node>()) {}
TemplateMiner::TemplateMiner(TemplateMiner&&) noexcept = default;
TemplateMiner& TemplateMiner::operator=(TemplateMiner&&) noexcept = default;
TemplateMiner::~TemplateMiner() = default;

size_t TemplateMiner::live_count() const {
  size_t n = 0;
  for (const LogTemplate& t : templates_) n += t.alias == t.id;
  return n;
}

int TemplateMiner::Resolve(int id) const {
  while (Get(id).alias != id) id = Get(id).alias;
  return id;
}

TemplateMiner::Node* TemplateMiner::FindLeaf(const std::vector<std::string>& tokens) const {
  auto it = root_->children.find(std::to_string(tokens.size()));
  if (it == root_->children.end()) return nullptr;
  Node* node = it->second.get();
  size_t levels = std::min(tokens.size(), static_cast<size_t>(options_.depth - 2));
  for (size_t d = 0; d < levels; ++d) {
    const std::string& key = HasWildcard(tokens[d]) ? WildcardKey() : tokens[d];
    auto c = node->children.find(key);
    if (c == node->children.end()) c = node->children.find(WildcardKey());
    if (c == node->children.end()) return nullptr;
    node = c->second.get();
  }
  return node;
}

TemplateMiner::Node* TemplateMiner::InsertLeaf(const std::vector<std::string>& tokens,
                                               std::vector<std::string>* route) {
  route->clear();
  route->push_back(std::to_string(tokens.size()));
  size_t levels = std::min(tokens.size(), static_cast<size_t>(options_.depth - 2));
  for (size_t d = 0; d < levels; ++d) {
    route->push_back(HasWildcard(tokens[d]) ? WildcardKey() : tokens[d]);
  }
  // Descend by the route, spilling into the wildcard branch when a node is full.
  Node* node = root_.get();
  for (size_t d = 0; d < route->size(); ++d) {
    std::string& key = (*route)[d];
    auto it = node->children.find(key);
    if (it == node->children.end()) {
      if (d > 0 && node->children.size() >= static_cast<size_t>(options_.max_children)) {
        key = WildcardKey();
        it = node->children.find(key);
      }
      if (it == node->children.end()) {
        it = node->children.emplace(key, std::make_unique<Node>()).first;
      }
    }
    node = it->second.get();
  }
  return node;
}

TemplateMiner::Node* TemplateMiner::InsertRoute(const std::vector<std::string>& route) {
  Node* node = root_.get();
  for (const std::string& key : route) {
    auto& child = node->children[key];
    if (!child) child = std::make_unique<Node>();
    node = child.get();
  }
  return node;
}

bool TemplateMiner::Compatible(const LogTemplate& t, const std::vector<std::string>& tokens,
                               Score* score) const {
  if (t.tokens.size() != tokens.size()) return false;
  int exact = 0, variable = 0, partial = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& a = t.tokens[i];
    const std::string& b = tokens[i];
    if (a == b) {
      if (a == kWildcard) {
        ++variable;
      } else {
        ++exact;
      }
    } else if (a == kWildcard) {
      ++variable;
    } else if ((HasWildcard(a) || HasWildcard(b)) && RelatedWords(a, b) && !PunctuationOnly(a) &&
               !PunctuationOnly(b)) {
      ++partial;
    } else {
      return false;  // two different constants: a different event
    }
  }
  if (!tokens.empty()) {
    double sim = (exact + variable + 0.5 * partial) / static_cast<double>(tokens.size());
    if (sim < options_.similarity) return false;
  }
  score->exact = exact;
  score->variable = variable;
  return true;
}

void TemplateMiner::Register(int id) {
  bool changed = true;
  while (changed) {
    changed = false;
    const std::vector<std::string> t = At(id).tokens;
    int constants = 0;
    for (const std::string& tok : t) constants += !HasWildcard(tok);
    const std::vector<uint64_t> keys = HashesExcept(t);
    for (size_t p = 0; p < t.size(); ++p) {
      if (constants - (HasWildcard(t[p]) ? 0 : 1) < options_.min_constants) continue;
      std::vector<int>& list = siblings_[keys[p]];
      if (std::find(list.begin(), list.end(), id) == list.end()) list.push_back(id);
      std::vector<int> live;
      bool any_variable = false;
      for (int member : list) {
        int r = Resolve(member);
        if (std::find(live.begin(), live.end(), r) != live.end()) continue;
        if (!SameExcept(At(r).tokens, t, p)) continue;
        live.push_back(r);
        any_variable |= At(r).tokens[p] == kWildcard;
      }
      list = live;
      if (live.size() < 2 ||
          (live.size() < static_cast<size_t>(options_.merge_distinct) && !any_variable)) {
        continue;
      }
      int root = *std::min_element(live.begin(), live.end());
      for (int member : live) {
        if (member == root) continue;
        At(member).alias = root;
        At(root).count += At(member).count;
      }
      At(root).tokens = t;
      At(root).tokens[p] = std::string(kWildcard);
      list.assign(1, root);
      id = root;
      changed = true;
      break;
    }
  }
}

int TemplateMiner::Add(const std::vector<std::string>& tokens) {
  ++lines_;
  Node* leaf = FindLeaf(tokens);
  int best = 0;
  Score best_score;
  if (leaf != nullptr) {
    for (int id : leaf->templates) {
      const LogTemplate& t = Get(id);
      if (t.alias != id) continue;
      Score s;
      if (Compatible(t, tokens, &s) && (best == 0 || s > best_score)) {
        best = id;
        best_score = s;
      }
    }
  }
  if (best != 0) {
    LogTemplate& t = At(best);
    ++t.count;
    bool changed = false;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (t.tokens[i] != tokens[i] && t.tokens[i] != kWildcard) {
        t.tokens[i] = std::string(kWildcard);
        changed = true;
      }
    }
    if (changed) Register(best);
    return Resolve(best);
  }
  LogTemplate t;
  t.id = static_cast<int>(templates_.size()) + 1;
  t.alias = t.id;
  t.tokens = tokens;
  t.count = 1;
  leaf = InsertLeaf(tokens, &t.route);
  leaf->templates.push_back(t.id);
  int id = t.id;
  templates_.push_back(std::move(t));
  Register(id);
  return Resolve(id);
}

nlohmann::json TemplateMiner::ToJson() const {
  nlohmann::json templates = nlohmann::json::array();
  for (const LogTemplate& t : templates_) {
    templates.push_back({{"id", t.id},
                         {"tokens", t.tokens},
                         {"count", t.count},
                         {"alias", t.alias},
                         {"route", t.route}});
  }
  return {{"options",
           {{"depth", options_.depth},
            {"similarity", options_.similarity},
            {"max_children", options_.max_children},
            {"merge_distinct", options_.merge_distinct},
            {"min_constants", options_.min_constants}}},
          {"lines", lines_},
          {"templates", templates}};
}

Result<TemplateMiner> TemplateMiner::FromJson(const nlohmann::json& j) {
  try {
    MinerOptions o;
    const auto& jo = j.at("options");
    o.depth = jo.at("depth").get<int>();
    o.similarity = jo.at("similarity").get<double>();
    o.max_children = jo.at("max_children").get<int>();
    o.merge_distinct = jo.at("merge_distinct").get<int>();
    o.min_constants = jo.at("min_constants").get<int>();
    VIGIL_RETURN_IF_ERROR(ValidateMinerOptions(o));
    TemplateMiner m(o);
    m.lines_ = j.at("lines").get<uint64_t>();
    for (const auto& jt : j.at("templates")) {
      LogTemplate t;
      t.id = jt.at("id").get<int>();
      t.tokens = jt.at("tokens").get<std::vector<std::string>>();
      t.count = jt.at("count").get<uint64_t>();
      t.alias = jt.at("alias").get<int>();
      t.route = jt.at("route").get<std::vector<std::string>>();
      if (t.id != static_cast<int>(m.templates_.size()) + 1 || t.alias < 1 || t.alias > t.id ||
          t.route.empty()) {
        return Status::Corruption("miner state: template " + std::to_string(t.id) +
                                  " is out of order or has a bad alias or route");
      }
      m.InsertRoute(t.route)->templates.push_back(t.id);
      m.templates_.push_back(std::move(t));
    }
    for (const LogTemplate& t : m.templates_) {
      if (t.alias == t.id) m.Register(t.id);
    }
    return m;
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("miner state: ") + e.what());
  }
}

}  // namespace vigil
