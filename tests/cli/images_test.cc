// End-to-end: the image commands through the strata binary on a real store.
#include <gtest/gtest.h>
#include <unistd.h>

#include "cli_helpers.h"

namespace strata::testing {
namespace {

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tar_ = env_.BusyboxTar();
    ASSERT_EQ(::access(tar_.c_str(), R_OK), 0) << "busybox-static is needed (scripts/setup.sh)";
  }
  std::string Import(const std::string& extra) {
    auto r = env_.Run("import " + extra + " " + tar_ + " busybox:latest");
    EXPECT_EQ(r.rc, 0) << r.err;
    return Trim(r.out);
  }
  StrataEnv env_;
  std::string tar_;
};

TEST_F(CliTest, ImportGivesDockersDiffIdAndConfig) {
  std::string id = Import("-c 'CMD [\"/bin/sh\"]' -c 'ENV A=b' -c 'EXPOSE 80' -c 'LABEL x=y'");
  ASSERT_EQ(id.size(), 71u);
  auto sum = env_.Shell("sha256sum " + tar_ + " | cut -c1-64");
  auto r = env_.Run(
      "image inspect --format '{{index .RootFS.Layers 0}}|{{json "
      ".Config.Cmd}}|{{.Config.Env}}|{{json "
      ".Config.ExposedPorts}}|{{.Config.Labels.x}}|{{.Comment}}|{{.Id}}' busybox");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(Trim(r.out), "sha256:" + Trim(sum.out) +
                             "|[\"/bin/sh\"]|[A=b]|{\"80/tcp\":{}}|y|Imported from -|" + id);
  // Image ID is the sha256 of the config blob.
  auto cfg = env_.Shell("sha256sum " + env_.root() + "/content/blobs/sha256/" + id.substr(7) +
                        " | cut -c1-64");
  EXPECT_EQ("sha256:" + Trim(cfg.out), id);
}

TEST_F(CliTest, ImportRejectsInvalidChange) {
  auto r = env_.Run("import -c 'RUN x' " + tar_ + " bad:run");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Error response from daemon: run is not a valid change command\n");
  EXPECT_EQ(env_.Run("images -q").out, "");
}

// Values recorded from docker 20.10 (CLI and daemon) for the same import: `json` encodes the
// typed struct (field order, nil slices null), and structs print as {a b} in field order.
TEST_F(CliTest, InspectFormatPrintsDockersTypedStructs) {
  Import(
      "-c 'EXPOSE 80' -c 'LABEL x=y' -c 'WORKDIR /w' -c 'VOLUME /data' "
      "-c 'HEALTHCHECK --interval=30s --retries=4 CMD true'");
  auto r = env_.Run(
      "inspect --format '{{json .Config}}|{{.Config.ExposedPorts}}|{{.Config.Volumes}}|"
      "{{.Config.Healthcheck}}|{{json .Config.Healthcheck}}|{{.RootFS.Type}}' busybox");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(Trim(r.out),
            R"({"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,)"
            R"("AttachStderr":false,"ExposedPorts":{"80/tcp":{}},"Tty":false,"OpenStdin":false,)"
            R"("StdinOnce":false,"Env":null,"Cmd":null,"Healthcheck":{"Test":["CMD-SHELL","true"],)"
            R"("Interval":30000000000,"Retries":4},"Image":"","Volumes":{"/data":{}},)"
            R"("WorkingDir":"/w","Entrypoint":null,"OnBuild":null,"Labels":{"x":"y"}})"
            "|map[80/tcp:{}]|map[/data:{}]|{[CMD-SHELL true] 30s 0s 0s 4}|"
            R"({"Test":["CMD-SHELL","true"],"Interval":30000000000,"Retries":4}|layers)");
  Import("-c 'USER 1:2' -c 'LABEL x=y'");
  r = env_.Run("inspect --format '{{.Config}}|{{.RootFS}}|{{.ContainerConfig}}' busybox");
  auto layer = Trim(env_.Run("inspect --format '{{index .RootFS.Layers 0}}' busybox").out);
  EXPECT_EQ(Trim(r.out),
            "{  1:2 false false false map[] false false false [] [] <nil> false  map[]  [] false  "
            "[] map[x:y]  <nil> []}|{layers [" +
                layer +
                "] }|"
                "{   false false false map[] false false false [] [] <nil> false  map[]  [] false  "
                "[] map[]  <nil> []}");
  // A bad HEALTHCHECK flag is the Dockerfile parser's error, as in docker's import.
  r = env_.Run("import -c 'HEALTHCHECK --interval=x CMD true' " + tar_ + " bad:hc");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Error response from daemon: time: invalid duration \"x\"\n");
}

TEST_F(CliTest, ImagesTableAndFormats) {
  std::string id = Import("");
  ASSERT_EQ(env_.Run("tag busybox example/app:v1").rc, 0);
  auto r = env_.Run("images");
  ASSERT_EQ(r.rc, 0) << r.err;
  std::istringstream lines(r.out);
  std::string header, row1, row2;
  std::getline(lines, header);
  std::getline(lines, row1);
  std::getline(lines, row2);
  EXPECT_EQ(header.substr(0, 40), "REPOSITORY    TAG       IMAGE ID       C");
  EXPECT_NE(header.find("CREATED"), std::string::npos);
  EXPECT_NE(row1.find(id.substr(7, 12)), std::string::npos);
  EXPECT_NE(row1.find("1.98MB"), std::string::npos);
  auto q = env_.Run("images -q");
  EXPECT_EQ(q.out, id.substr(7, 12) + "\n" + id.substr(7, 12) + "\n");
  auto f = env_.Run("images --format '{{.Repository}}:{{.Tag}}' busybox");
  EXPECT_EQ(f.out, "busybox:latest\n");
  auto bad = env_.Run("images --filter bogus=1");
  EXPECT_EQ(bad.rc, 1);
  EXPECT_EQ(bad.err, "Error response from daemon: Invalid filter 'bogus'\n");
}

TEST_F(CliTest, RmiUntagsThenDeletesWithDockersConflicts) {
  std::string id = Import("");
  ASSERT_EQ(env_.Run("tag busybox mirror/busybox:latest").rc, 0);
  auto conflict = env_.Run("rmi " + id.substr(7, 12));
  EXPECT_EQ(conflict.rc, 1);
  EXPECT_EQ(conflict.err, "Error response from daemon: conflict: unable to delete " +
                              id.substr(7, 12) +
                              " (must be forced) - image is referenced in multiple repositories\n");
  auto untag = env_.Run("rmi mirror/busybox");
  EXPECT_EQ(untag.out, "Untagged: mirror/busybox:latest\n");
  auto del = env_.Run("rmi busybox nosuch:latest");
  EXPECT_EQ(del.rc, 1);
  EXPECT_EQ(del.out.substr(0, 48), "Untagged: busybox:latest\nDeleted: " + id.substr(0, 14));
  EXPECT_EQ(del.err, "Error response from daemon: No such image: nosuch:latest\n");
  EXPECT_EQ(env_.Run("images -aq").out, "");
}

TEST_F(CliTest, SaveLoadRoundTripKeepsIdsAndReadsDockerArchives) {
  std::string id = Import("-c 'CMD [\"/bin/sh\"]'");
  std::string archive = env_.dir() + "/bb.tar";
  ASSERT_EQ(env_.Run("save -o " + archive + " busybox").rc, 0);
  auto list = env_.Shell("tar -tf " + archive + " | sort");
  EXPECT_NE(list.out.find("manifest.json\n"), std::string::npos);
  EXPECT_NE(list.out.find("index.json\n"), std::string::npos);
  EXPECT_NE(list.out.find("oci-layout\n"), std::string::npos);
  EXPECT_NE(list.out.find("blobs/sha256/" + id.substr(7)), std::string::npos);
  // Same input, same bytes.
  ASSERT_EQ(env_.Run("save -o " + archive + ".2 busybox:latest").rc, 0);
  EXPECT_EQ(env_.Shell("cmp " + archive + " " + archive + ".2").rc, 0);

  StrataEnv other;
  auto load = other.Run("load -i " + archive);
  ASSERT_EQ(load.rc, 0) << load.err;
  EXPECT_EQ(load.out, "Loaded image: busybox:latest\n");
  EXPECT_EQ(Trim(other.Run("inspect --format '{{.Id}}' busybox").out), id);

  // An archive written by real docker save (20.10): same image ID as docker's.
  std::string docker_tar = std::string(STRATA_TESTDATA) + "/docker/busybox-save.tar.gz";
  std::string want = Trim(Slurp(std::string(STRATA_TESTDATA) + "/docker/files/busybox-id.txt"));
  auto dl = other.Run("load < " + docker_tar);
  ASSERT_EQ(dl.rc, 0) << dl.err;
  EXPECT_NE(dl.out.find("Loaded image: busybox:latest"), std::string::npos);
  EXPECT_EQ(Trim(other.Run("inspect --format '{{.Id}}' busybox").out), want);
  EXPECT_EQ(Trim(other.Run("inspect --format '{{.Size}}' busybox").out), "1984172");
  EXPECT_EQ(Trim(other.Run("system check").out), "store is consistent");
}

TEST_F(CliTest, BadArchivesAreRefusedAndLeaveTheStoreUnchanged) {
  Import("");
  std::string archive = env_.dir() + "/bb.tar";
  ASSERT_EQ(env_.Run("save -o " + archive + " busybox").rc, 0);
  StrataEnv other;
  env_.Shell("head -c 1500000 " + archive + " > " + archive + ".trunc");
  auto r = other.Run("load -i " + archive + ".trunc");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(other.Run("images -aq").out, "");
  // Flip one byte inside the layer blob: the digest check refuses it.
  env_.Shell("cp " + archive + " " + archive + ".bad && printf 'X' | dd of=" + archive +
             ".bad bs=1 seek=600000 conv=notrunc 2>/dev/null");
  r = other.Run("load -i " + archive + ".bad");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("digest"), std::string::npos) << r.err;
  EXPECT_EQ(other.Run("images -aq").out, "");
  EXPECT_EQ(Trim(other.Run("system check").out), "store is consistent");
}

TEST_F(CliTest, PathEscapingLayerIsRefused) {
  // A layer whose entry climbs out of the root.
  std::string evil = env_.dir() + "/evil.tar";
  auto mk = env_.Shell("cd " + env_.dir() +
                       " && mkdir -p e/sub && echo pwned > e/pwned && "
                       "tar --format=gnu -cf " +
                       evil + " -C e --transform 's,^pwned,../../pwned,' pwned");
  ASSERT_EQ(mk.rc, 0) << mk.err;
  auto r = env_.Run("import " + evil + " evil:latest");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("../../pwned"), std::string::npos) << r.err;
  EXPECT_EQ(::access((env_.root() + "/../pwned").c_str(), F_OK), -1);
  EXPECT_EQ(env_.Run("images -aq").out, "");
}

TEST_F(CliTest, PruneReturnsTheStoreToEmpty) {
  StrataEnv empty;
  ASSERT_EQ(empty.Run("images").rc, 0);
  auto blobs = [](const StrataEnv& e) {
    return e.Shell("find " + e.root() + "/content/blobs -type f | wc -l").out;
  };
  auto snaps = [](const StrataEnv& e) {
    return e.Shell("ls " + e.root() + "/snapshots | grep -c '^[0-9]'").out;
  };
  Import("");
  ASSERT_EQ(env_.Run("rmi busybox").rc, 0);
  ASSERT_EQ(env_.Run("system prune -f").rc, 0);
  EXPECT_EQ(blobs(env_), blobs(empty));
  EXPECT_EQ(snaps(env_), snaps(empty));
  EXPECT_EQ(Trim(env_.Run("system check").out), "store is consistent");
}

TEST_F(CliTest, FormatsFollowDockersTypedContexts) {
  Import("-c 'LABEL x=y'");
  ASSERT_EQ(env_.Run("tag busybox example/app:v1").rc, 0);
  // inspect: nil slices print [], nil pointers <nil>, a missing map key
  // <no value>, an unknown field is docker's missingkey=error failure.
  auto r = env_.Run(
      "inspect --format "
      "'{{.Config.Env}}|{{.Config.Healthcheck}}|{{.Config.Labels.q}}|{{.Config.Labels.x}}|{{."
      "Config.Volumes}}' busybox");
  EXPECT_EQ(r.out, "[]|<nil>|<no value>|y|map[]\n");
  r = env_.Run("inspect --format '{{.Config.Foo}}' busybox");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err,
            "template parsing error: template: :1:9: executing \"\" at <.Config.Foo>: map has no "
            "entry for key \"Foo\"\n");
  r = env_.Run("images --format '{{.Nope}}'");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err,
            "template parsing error: template: :1:2: executing \"\" at <.Nope>: can't evaluate "
            "field Nope in type *formatter.imageContext\n");
  // reference filters match like Go's path.Match: '*' stops at '/'.
  EXPECT_EQ(env_.Run("images --filter 'reference=*:v1' -q").out, "");
  EXPECT_EQ(env_.Run("images --filter 'reference=example/*' --format '{{.Repository}}'").out,
            "example/app\n");
  // -H=false as pflag spells it: CREATED AT column and raw byte sizes.
  r = env_.Run("history -H=false busybox");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.rfind("IMAGE          CREATED AT             CREATED BY   SIZE", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("1984172"), std::string::npos);
}

TEST_F(CliTest, SystemDfCountsDistinctLayersAsDockerDoes) {
  Import("");
  ASSERT_EQ(env_.Run("import -c 'CMD [\"/bin/sh\"]' " + tar_ + " other:latest").rc, 0);
  auto r = env_.Run("system df");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n"
            "Images          2         0         1.984MB   1.984MB (100%)\n"
            "Containers      0         0         0B        0B\n"
            "Local Volumes   0         0         0B        0B\n"
            "Build Cache     0         0         0B        0B\n");
  r = env_.Run("system df -v");
  EXPECT_NE(r.out.find("1.98MB    1.984MB       0B            0"), std::string::npos) << r.out;
}

TEST_F(CliTest, UntilAndLabelFiltersForImagesAndPrune) {
  Import("");
  ASSERT_EQ(env_.Run("import -c 'LABEL team=a' " + tar_ + " labelled:latest").rc, 0);
  EXPECT_EQ(env_.Run("images --filter until=1h -q").out, "");
  EXPECT_EQ(
      env_.Run("images --filter until=2099-01-01 --format '{{.Repository}}' --filter label=team=a")
          .out,
      "labelled\n");
  auto bad = env_.Run("images --filter until=soon");
  EXPECT_EQ(bad.rc, 1);
  // Prune everything unused that carries the label; the other image stays.
  auto p = env_.Run("image prune -a -f --filter label=team");
  ASSERT_EQ(p.rc, 0) << p.err;
  EXPECT_NE(p.out.find("untagged: labelled:latest"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("Total reclaimed space: "), std::string::npos);
  EXPECT_EQ(env_.Run("images --format '{{.Repository}}'").out, "busybox\n");
}

TEST(CliHelpTest, EveryCommandHasDockerStyleHelp) {
  StrataEnv env;
  for (const char* cmd : {"", "images", "image ls", "tag", "rmi", "image rm", "history", "inspect",
                          "image inspect", "image prune", "save", "load", "import", "version",
                          "info", "system", "system df", "system prune", "system check"}) {
    auto r = env.Run(std::string(cmd) + " --help");
    EXPECT_EQ(r.rc, 0) << cmd;
    std::string want = "Usage:  strata" + std::string(*cmd ? " " : "") + cmd + " ";
    EXPECT_EQ(r.out.rfind(want, 0), 0u) << r.out;
  }
  auto r = env.Run("images --help");
  EXPECT_NE(r.out.find("\n  -f, --filter filter   Filter output based on conditions provided\n"),
            std::string::npos)
      << r.out;
  auto bad = env.Run("images --bogus");
  EXPECT_EQ(bad.rc, 125);
}

}  // namespace
}  // namespace strata::testing
