// Crash safety and concurrency of the store, through the real binary:
// SIGKILL at arbitrary points of import/load/rmi/prune, and 8 processes at
// once, must leave a store that reads and checks clean.
#include <gtest/gtest.h>

#include "cli_helpers.h"

namespace strata::testing {
namespace {

class StoreSafetyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tar_ = env_.BusyboxTar();
    ASSERT_EQ(env_.Run("import -c 'CMD [\"/bin/sh\"]' " + tar_ + " seed:latest").rc, 0);
    archive_ = env_.dir() + "/seed.tar";
    ASSERT_EQ(env_.Run("save -o " + archive_ + " seed:latest").rc, 0);
    ASSERT_EQ(env_.Run("rmi seed:latest").rc, 0);
  }
  void ExpectHealthy() {
    auto images = env_.Run("images -a");
    EXPECT_EQ(images.rc, 0) << images.err;
    auto check = env_.Run("system check");
    EXPECT_EQ(check.rc, 0) << check.out << check.err;
    EXPECT_EQ(Trim(check.out), "store is consistent");
  }
  StrataEnv env_;
  std::string tar_, archive_;
};

TEST_F(StoreSafetyTest, SigkillAtAnyPointLeavesAConsistentStore) {
  std::string s = std::string(STRATA_BINARY) + " --root " + env_.root();
  // Delays spread over the few hundred milliseconds an operation takes.
  for (int delay_ms : {0, 5, 15, 30, 60, 100, 150, 250}) {
    for (const std::string& op :
         std::vector<std::string>{"load -i " + archive_, "import " + tar_ + " crash:imp",
                                  "rmi -f seed:latest", "system prune -f"}) {
      auto r =
          env_.Shell(s + " " + op + " >/dev/null 2>&1 & pid=$!; sleep " +
                     std::to_string(delay_ms / 1000.0) + "; kill -9 $pid 2>/dev/null; wait $pid");
      (void)r;
      ExpectHealthy();
      if (HasFatalFailure()) return;
    }
  }
  // Garbage from the kills goes away with GC, and what remains still works.
  ASSERT_EQ(env_.Run("system prune -f").rc, 0);
  ExpectHealthy();
  ASSERT_EQ(env_.Run("load -i " + archive_).rc, 0);
  ExpectHealthy();
}

TEST_F(StoreSafetyTest, EightConcurrentProcessesNeverCorruptIt) {
  std::string s = std::string(STRATA_BINARY) + " --root " + env_.root();
  std::string script;
  for (int p = 0; p < 8; ++p) {
    script += "( for i in 1 2 3; do " + s + " load -q -i " + archive_ + " && " + s +
              " tag seed:latest w" + std::to_string(p) + ":$i && " + s + " images >/dev/null && " +
              s + " rmi w" + std::to_string(p) + ":$i >/dev/null; done ) >/dev/null 2>" +
              env_.dir() + "/err" + std::to_string(p) + " & ";
  }
  script += "wait";
  env_.Shell(script);
  for (int p = 0; p < 8; ++p) {
    EXPECT_EQ(Slurp(env_.dir() + "/err" + std::to_string(p)), "") << "worker " << p;
  }
  ExpectHealthy();
  auto tags = env_.Run("images --format '{{.Repository}}:{{.Tag}}'");
  EXPECT_EQ(tags.out, "seed:latest\n");
}

}  // namespace
}  // namespace strata::testing
