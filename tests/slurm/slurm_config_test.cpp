// The agent config's [slurm] table: every key reaches SlurmOptions, mistakes are named.
#include <gtest/gtest.h>

#include "site-agent/agent_config.h"

namespace aifed::agent {
namespace {

const std::string kHead = R"(site = "mimer"
coordinator = "tcp://127.0.0.1:7781"
coordinator_public_key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
key_file = "keys/mimer.key"
state_db = "agent.db"
backend = "slurm"
)";

TEST(SlurmConfigTest, EveryKeyReachesTheBackendOptions) {
  auto cfg = parseAgentConfig(kHead + R"(
[slurm]
partitions = ["gpu", "cpu"]
gpu_partitions = { H100 = "gpu" }
gres_types = { h100 = "nvidia_h100" }
cpu_partition = "cpu"
accounts = { nordic-llm = "nllm001" }
default_account = "aifed"
slurm_conf = "slurm.conf"
workdir = "/scratch/aifed"
use_sacct = true
tag_prefix = "fed1"
command_timeout_s = 7.5
refresh_s = 2
)",
                              "agent.toml", "/etc/aifed");
  ASSERT_TRUE(cfg.ok()) << cfg.status().toString();
  const SlurmOptions& o = cfg->slurm;
  EXPECT_EQ(cfg->backend, "slurm");
  EXPECT_EQ(o.partitions, (std::vector<std::string>{"gpu", "cpu"}));
  EXPECT_EQ(o.gpu_partitions.at("h100"), "gpu");  // model names are lower-cased
  EXPECT_EQ(o.gres_types.at("h100"), "nvidia_h100");
  EXPECT_EQ(o.cpu_partition, "cpu");
  EXPECT_EQ(o.accounts.at("nordic-llm"), "nllm001");
  EXPECT_EQ(o.default_account, "aifed");
  EXPECT_EQ(o.slurm_conf, "/etc/aifed/slurm.conf");  // relative to the config file
  EXPECT_EQ(o.workdir, "/scratch/aifed");
  EXPECT_TRUE(o.use_sacct);
  EXPECT_EQ(o.tag_prefix, "fed1");
  EXPECT_EQ(o.command_timeout, std::chrono::milliseconds(7500));
  EXPECT_EQ(o.refresh, std::chrono::seconds(2));
}

TEST(SlurmConfigTest, ProbeShapesAreReadAndCheckedByKey) {
  auto cfg = parseAgentConfig(kHead + R"(
[slurm]
gpu_partitions = { h100 = "gpu" }
probe_interval_s = 120
[[slurm.probe]]
gpu_type = "H100"
nodes = 4
gpus_per_node = 4
[[slurm.probe]]
nodes = 1
walltime_s = 600
)",
                              "agent.toml", "/etc/aifed");
  ASSERT_TRUE(cfg.ok()) << cfg.status().toString();
  const SlurmOptions& o = cfg->slurm;
  ASSERT_EQ(o.probes.size(), 2u);
  EXPECT_EQ(o.probes[0].gpu_type, "h100");
  EXPECT_EQ(o.probes[0].nodes, 4);
  EXPECT_EQ(o.probes[0].gpus_per_node, 4);
  EXPECT_EQ(o.probes[0].walltime, std::chrono::hours(1));
  EXPECT_EQ(o.probes[1].walltime, std::chrono::minutes(10));
  EXPECT_EQ(o.probe_interval, std::chrono::seconds(120));

  auto bad = parseAgentConfig(kHead + R"(
[slurm]
gpu_partitions = { h100 = "gpu" }
[[slurm.probe]]
nodes = 0
)",
                              "agent.toml", "/etc/aifed");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("slurm.probe[0].nodes"), std::string::npos)
      << bad.status().message();
}

TEST(SlurmConfigTest, MistakesAreNamed) {
  struct Case {
    std::string table;
    std::string key;
  } cases[] = {
      {"", "slurm"},
      {"[slurm]\npartitions = [\"gpu\"]\n", "slurm"},  // maps no job anywhere
      {"[slurm]\ncpu_partition = \"cpu\"\npartiton = [\"x\"]\n", "slurm.partiton"},
      {"[slurm]\ncpu_partition = \"cpu\"\ncommand_timeout_s = 0\n", "slurm.command_timeout_s"},
      {"[slurm]\ncpu_partition = \"cpu\"\ntag_prefix = \"a:b\"\n", "slurm.tag_prefix"},
      {"[slurm]\ncpu_partition = \"cpu\"\naccounts = { p = 3 }\n", "slurm.accounts.p"},
  };
  for (const Case& c : cases) {
    auto cfg = parseAgentConfig(kHead + c.table, "agent.toml", "/etc/aifed");
    ASSERT_FALSE(cfg.ok()) << c.table;
    EXPECT_EQ(cfg.status().field(), c.key) << cfg.status().toString();
  }
}

// kHead has 6 lines; [slurm] is line 7.
TEST(SlurmConfigTest, UnknownKeysAndWrongTypesNameTheLineAndTheKey) {
  struct Case {
    std::string table;
    std::string message;
  } cases[] = {
      {"[slurm]\ncpu_partition = \"cpu\"\nuse_sacc = true\n",
       "agent.toml:9: slurm.use_sacc: unknown key (did you mean \"use_sacct\"?)"},
      {"[slurm]\ncpu_partition = \"cpu\"\nuse_sacct = \"yes\"\n",
       "agent.toml:9: slurm.use_sacct: must be a boolean (true or false), got a string"},
      {"[slurm]\ncpu_partition = \"cpu\"\n[[slurm.probe]]\nnodes = \"4\"\n",
       "agent.toml:10: slurm.probe[0].nodes: must be an integer, got a string"},
      {"[slurm]\ncpu_partition = \"cpu\"\npartitions = \"gpu\"\n",
       "agent.toml:9: slurm.partitions: must be an array of strings, got a string"},
  };
  for (const Case& c : cases) {
    auto cfg = parseAgentConfig(kHead + c.table, "agent.toml", "/etc/aifed");
    ASSERT_FALSE(cfg.ok()) << c.table;
    EXPECT_EQ(cfg.status().message(), c.message);
  }
}

}  // namespace
}  // namespace aifed::agent
