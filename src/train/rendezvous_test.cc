// Rank, world size and rendezvous address from flags, the torchrun environment and Slurm's,
// including Slurm node-list forms; no processes are started.
#include "train/rendezvous.h"

#include <gtest/gtest.h>

#include <map>

namespace vigil {
namespace {

GetEnv FakeEnv(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

TEST(RendezvousTest, NothingSetIsOneRank) {
  auto rv = ResolveRendezvous({}, FakeEnv({}));
  ASSERT_TRUE(rv.ok()) << rv.status().ToString();
  EXPECT_FALSE(rv->distributed());
  EXPECT_EQ(rv->rank, 0);
  EXPECT_EQ(rv->world_size, 1);
  EXPECT_EQ(rv->source, "none");
}

TEST(RendezvousTest, FlagsWinOverTheEnvironment) {
  RendezvousFlags f;
  f.rank = 1;
  f.world_size = 3;
  f.master = "10.1.2.3:4567";
  auto rv = ResolveRendezvous(
      f, FakeEnv({{"RANK", "0"}, {"WORLD_SIZE", "8"}, {"MASTER_ADDR", "x"}, {"MASTER_PORT", "1"}}));
  ASSERT_TRUE(rv.ok()) << rv.status().ToString();
  EXPECT_EQ(rv->source, "flags");
  EXPECT_EQ(rv->rank, 1);
  EXPECT_EQ(rv->world_size, 3);
  EXPECT_EQ(rv->master_addr, "10.1.2.3");
  EXPECT_EQ(rv->master_port, 4567);
}

TEST(RendezvousTest, FlagErrorsNameTheFlag) {
  RendezvousFlags f;
  f.world_size = 2;
  f.rank = 0;
  auto rv = ResolveRendezvous(f, FakeEnv({}));
  ASSERT_FALSE(rv.ok());
  EXPECT_NE(rv.status().message().find("--master"), std::string::npos);
  f.master = "host:99999";
  rv = ResolveRendezvous(f, FakeEnv({}));
  ASSERT_FALSE(rv.ok());
  EXPECT_NE(rv.status().message().find("port"), std::string::npos);
  f.master = "host:1234";
  f.rank = 2;
  rv = ResolveRendezvous(f, FakeEnv({}));
  ASSERT_FALSE(rv.ok());
  EXPECT_NE(rv.status().message().find("outside world size 2"), std::string::npos);
}

TEST(RendezvousTest, TorchrunEnvironment) {
  auto rv = ResolveRendezvous({}, FakeEnv({{"RANK", "3"},
                                           {"WORLD_SIZE", "4"},
                                           {"LOCAL_WORLD_SIZE", "2"},
                                           {"MASTER_ADDR", "trainer-0.trainer"},
                                           {"MASTER_PORT", "29400"},
                                           {"GLOO_SOCKET_IFNAME", "eth1"}}));
  ASSERT_TRUE(rv.ok()) << rv.status().ToString();
  EXPECT_EQ(rv->source, "torchrun");
  EXPECT_EQ(rv->rank, 3);
  EXPECT_EQ(rv->world_size, 4);
  EXPECT_EQ(rv->local_world_size, 2);
  EXPECT_EQ(rv->master_addr, "trainer-0.trainer");
  EXPECT_EQ(rv->master_port, 29400);
  EXPECT_EQ(rv->iface, "eth1");

  auto bad = ResolveRendezvous({}, FakeEnv({{"RANK", "x"}, {"WORLD_SIZE", "2"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("$RANK"), std::string::npos);
  auto no_master = ResolveRendezvous({}, FakeEnv({{"RANK", "0"}, {"WORLD_SIZE", "2"}}));
  ASSERT_FALSE(no_master.ok());
  EXPECT_NE(no_master.status().message().find("MASTER_ADDR"), std::string::npos);
}

TEST(RendezvousTest, SlurmEnvironment) {
  auto rv = ResolveRendezvous({}, FakeEnv({{"SLURM_PROCID", "1"},
                                           {"SLURM_NTASKS", "4"},
                                           {"SLURM_STEP_NUM_TASKS", "2"},
                                           {"SLURM_NODELIST", "gpu[07-09,12],cpu1"},
                                           {"SLURM_JOB_ID", "123456"}}));
  ASSERT_TRUE(rv.ok()) << rv.status().ToString();
  EXPECT_EQ(rv->source, "slurm");
  EXPECT_EQ(rv->rank, 1);
  EXPECT_EQ(rv->world_size, 2);  // the step's tasks, not the job's
  EXPECT_EQ(rv->master_addr, "gpu07");
  EXPECT_EQ(rv->master_port, 29500 + 456);

  auto overridden = ResolveRendezvous({}, FakeEnv({{"SLURM_PROCID", "0"},
                                                   {"SLURM_NTASKS", "2"},
                                                   {"SLURM_NODELIST", "n1"},
                                                   {"MASTER_ADDR", "10.0.0.9"},
                                                   {"MASTER_PORT", "31000"}}));
  ASSERT_TRUE(overridden.ok()) << overridden.status().ToString();
  EXPECT_EQ(overridden->master_addr, "10.0.0.9");
  EXPECT_EQ(overridden->master_port, 31000);

  auto outside = ResolveRendezvous(
      {}, FakeEnv({{"SLURM_PROCID", "2"}, {"SLURM_NTASKS", "2"}, {"SLURM_NODELIST", "n1"}}));
  EXPECT_FALSE(outside.ok());
}

TEST(RendezvousTest, FirstSlurmHost) {
  struct Case {
    const char* list;
    const char* first;
  };
  for (const Case& c :
       {Case{"node01", "node01"}, Case{"node[01-03]", "node01"}, Case{"node[7,9-11]", "node7"},
        Case{"a1,b[2-3]", "a1"}, Case{"rack[1-2]-n[03-04]", "rack1-n03"}, Case{"[5-6]x", "5x"},
        Case{"host.example.org", "host.example.org"}}) {
    auto h = FirstSlurmHost(c.list);
    ASSERT_TRUE(h.ok()) << c.list << ": " << h.status().ToString();
    EXPECT_EQ(*h, c.first) << c.list;
  }
  for (const char* bad : {"", "node[01-03", "node]", "node[a-b]", "node[[1]]"}) {
    EXPECT_FALSE(FirstSlurmHost(bad).ok()) << bad;
  }
}

TEST(RendezvousTest, HostPort) {
  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(ParseHostPort("[fe80::1]:80", &host, &port).ok());
  EXPECT_EQ(host, "fe80::1");
  EXPECT_EQ(port, 80);
  EXPECT_FALSE(ParseHostPort("nohost", &host, &port).ok());
  EXPECT_FALSE(ParseHostPort(":80", &host, &port).ok());
  EXPECT_FALSE(ParseHostPort("h:0", &host, &port).ok());
}

}  // namespace
}  // namespace vigil
