#include "logs/miner.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "logs/masks.h"

namespace vigil {
namespace {

std::vector<std::string> Masked(const std::string& content) {
  static const Masker masker = *Masker::Create({});
  MaskedLine out;
  masker.MaskLine(content, &out);
  return out.tokens;
}

// A synthetic log: a few events with numeric, id and user-name variables, shuffled by a seed.
std::vector<std::string> SyntheticLog(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  const char* users[] = {"alice", "bob", "carol", "dave", "erin", "frank"};
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i) {
    int r = static_cast<int>(rng() % 100);
    std::string num = std::to_string(rng() % 100000);
    if (r < 30) {
      lines.push_back("Received block blk_" + num + " of size " + std::to_string(rng() % 999) +
                      " from 10.0." + std::to_string(rng() % 255) + ".1");
    } else if (r < 50) {
      lines.push_back("session opened for user " + std::string(users[rng() % 6]) +
                      " by (uid=" + num + ")");
    } else if (r < 65) {
      lines.push_back("VM Started (Lifecycle Event)");
    } else if (r < 80) {
      lines.push_back("VM Paused (Lifecycle Event)");
    } else {
      lines.push_back("Deleting instance files /var/lib/nova/instances/" + num + "_del");
    }
  }
  return lines;
}

TEST(TemplateMinerTest, NumbersAndIdsShareATemplate) {
  TemplateMiner m;
  int a = m.Add(Masked("PacketResponder 1 for block blk_38865049064139660 terminating"));
  int b = m.Add(Masked("PacketResponder 0 for block blk_-6952295868487656571 terminating"));
  EXPECT_EQ(a, b);
  EXPECT_EQ(m.Get(a).Text(), "PacketResponder <*> for block blk_<*> terminating");
  EXPECT_EQ(m.Get(a).count, 2u);
}

TEST(TemplateMinerTest, DifferentWordsAreDifferentEvents) {
  TemplateMiner m;
  int started = m.Add(Masked("VM Started (Lifecycle Event)"));
  int paused = m.Add(Masked("VM Paused (Lifecycle Event)"));
  EXPECT_NE(started, paused);
  EXPECT_EQ(m.Add(Masked("VM Started (Lifecycle Event)")), started);
  EXPECT_EQ(m.live_count(), 2u);
}

TEST(TemplateMinerTest, PartlyVariableTokensJoin) {
  TemplateMiner m;
  int a = m.Add(Masked("Block rdd_2_2 stored as bytes in memory"));
  int b = m.Add(Masked("Block rdd_3 stored as bytes in memory"));
  EXPECT_EQ(a, b);
  EXPECT_EQ(m.Get(a).Text(), "Block <*> stored as bytes in memory");
}

TEST(TemplateMinerTest, ManyValuesAtOnePositionMergeIntoAVariable) {
  MinerOptions o;
  o.merge_distinct = 4;
  TemplateMiner m(o);
  int first = m.Add(Masked("session closed for user cyrus"));
  int second = m.Add(Masked("session closed for user news"));
  int third = m.Add(Masked("session closed for user test"));
  EXPECT_NE(first, second);
  EXPECT_EQ(m.live_count(), 3u);
  int fourth = m.Add(Masked("session closed for user root"));
  // The fourth value merges all four into the oldest id; the old ids resolve to it.
  EXPECT_EQ(fourth, first);
  EXPECT_EQ(m.Resolve(second), first);
  EXPECT_EQ(m.Resolve(third), first);
  EXPECT_EQ(m.Get(first).Text(), "session closed for user <*>");
  EXPECT_EQ(m.Get(first).count, 4u);
  EXPECT_EQ(m.live_count(), 1u);
  // A fifth user joins at once.
  EXPECT_EQ(m.Add(Masked("session closed for user guest")), first);
  EXPECT_EQ(m.size(), 4u);  // no new template; merged ids are never reused
}

TEST(TemplateMinerTest, ShortMessagesDoNotCollapseIntoOneVariable) {
  TemplateMiner m;
  for (const char* w : {"normal", "warning", "running", "blocked", "critical"}) m.Add(Masked(w));
  EXPECT_EQ(m.live_count(), 5u);  // min_constants keeps one-word events apart
}

TEST(TemplateMinerTest, DifferentLengthsNeverMix) {
  TemplateMiner m;
  int a = m.Add(Masked("job 1 done"));
  int b = m.Add(Masked("job 1 done fast"));
  EXPECT_NE(a, b);
}

TEST(TemplateMinerTest, SyntheticLogGivesItsEvents) {
  TemplateMiner m;
  std::set<int> ids;
  for (const std::string& l : SyntheticLog(2000, 7)) ids.insert(m.Add(Masked(l)));
  std::set<std::string> texts;
  for (int id : ids) texts.insert(m.Get(m.Resolve(id)).Text());
  EXPECT_EQ(texts, (std::set<std::string>{
                       "Received block blk_<*> of size <*> from <*>",
                       "session opened for user <*> by (uid=<*>)", "VM Started (Lifecycle Event)",
                       "VM Paused (Lifecycle Event)", "Deleting instance files <*>"}));
}

TEST(TemplateMinerTest, StateRoundTripContinuesLikeAnUninterruptedRun) {
  std::vector<std::string> log = SyntheticLog(3000, 11);
  TemplateMiner whole;
  std::vector<int> whole_ids;
  for (const std::string& l : log) whole_ids.push_back(whole.Add(Masked(l)));

  TemplateMiner first;
  for (size_t i = 0; i < 1000; ++i) first.Add(Masked(log[i]));
  nlohmann::json state = first.ToJson();
  auto resumed = TemplateMiner::FromJson(nlohmann::json::parse(state.dump()));
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(resumed->lines(), 1000u);
  for (size_t i = 1000; i < log.size(); ++i) {
    EXPECT_EQ(resumed->Resolve(resumed->Add(Masked(log[i]))), whole.Resolve(whole_ids[i]))
        << "line " << i;
  }
  EXPECT_EQ(resumed->ToJson(), whole.ToJson());
}

TEST(TemplateMinerTest, BadStateIsCorruption) {
  EXPECT_FALSE(TemplateMiner::FromJson(nlohmann::json::object()).ok());
  TemplateMiner m;
  m.Add(Masked("a b c"));
  nlohmann::json j = m.ToJson();
  j["templates"][0]["id"] = 5;
  EXPECT_EQ(TemplateMiner::FromJson(j).status().code(), StatusCode::kCorruption);
  j = m.ToJson();
  j["options"]["depth"] = 1;
  EXPECT_FALSE(TemplateMiner::FromJson(j).ok());
}

TEST(TemplateMinerTest, OptionsAreValidated) {
  MinerOptions o;
  EXPECT_TRUE(ValidateMinerOptions(o).ok());
  o.merge_distinct = 1;
  EXPECT_FALSE(ValidateMinerOptions(o).ok());
  o = {};
  o.similarity = 1.5;
  EXPECT_FALSE(ValidateMinerOptions(o).ok());
}

}  // namespace
}  // namespace vigil
