// End-to-end: what `load` keeps of a layer (a tar-split instead of a second
// copy of the tar) and that `save` gives every byte back, or says why not.
#include <gtest/gtest.h>
#include <unistd.h>

#include "cli_helpers.h"

namespace strata::testing {
namespace {

// Writes a docker-save style archive (docker 20.10 layout) with layers made
// from `layers` (each a list of (name, size, seed) files, or a duplicate
// entry marker) and manifest order `order` (indexes into layers).
constexpr const char* kMakeArchive = R"PY(
import hashlib, io, json, random, sys, tarfile
out, spec = sys.argv[1], json.loads(sys.argv[2])
def layer(files):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.GNU_FORMAT) as t:
        d = tarfile.TarInfo("data"); d.type = tarfile.DIRTYPE; d.mode = 0o755; t.addfile(d)
        for name, size, seed in files:
            data = random.Random(seed).randbytes(size)
            i = tarfile.TarInfo("data/" + name); i.size = size; i.mode = 0o644
            t.addfile(i, io.BytesIO(data))
    return b.getvalue()
blobs = [layer(f) for f in spec["layers"]]
ids = ["sha256:" + hashlib.sha256(b).hexdigest() for b in blobs]
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                  "created": "2024-01-01T00:00:00Z",
                  "rootfs": {"type": "layers", "diff_ids": [ids[i] for i in spec["order"]]}}).encode()
cid = hashlib.sha256(cfg).hexdigest()
with tarfile.open(out, "w") as t:
    def add(name, data):
        i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
    for k, b in enumerate(blobs):
        add(ids[k][7:] + "/layer.tar", b)
    add(cid + ".json", cfg)
    add("manifest.json", json.dumps([{"Config": cid + ".json", "RepoTags": [spec["tag"]],
        "Layers": [ids[i][7:] + "/layer.tar" for i in spec["order"]]}]).encode())
print("sha256:" + cid)
)PY";

class LoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "tar-splits are kept only by root stores";
  }
  // Builds an archive from a JSON spec; returns its image ID.
  std::string MakeArchive(const std::string& path, const std::string& spec) {
    std::string py = env_.dir() + "/make.py";
    EXPECT_TRUE(WriteFileAtomic(py, kMakeArchive));
    auto r = env_.Shell("python3 " + py + " " + path + " " + ShellQuote(spec));
    EXPECT_EQ(r.rc, 0) << r.err;
    return Trim(r.out);
  }
  bool Overlay() {
    return env_.Run("info").out.find("Storage Driver: overlay") != std::string::npos;
  }
  // Extracts archive member `name` of `tar` into a string.
  std::string Member(const std::string& tar, const std::string& name) {
    return env_.Shell("tar -xOf " + tar + " " + name).out;
  }
  int Blobs() {
    return std::stoi(env_.Shell("ls " + env_.root() + "/content/blobs/sha256 | wc -l").out);
  }
  StrataEnv env_;
};

TEST_F(LoadTest, KeepsATarSplitAndSavesTheSameBytes) {
  std::string in = env_.dir() + "/in.tar";
  std::string id = MakeArchive(in, R"({"tag": "split:1", "order": [0, 1],
              "layers": [[["big", 6000000, 1], ["small", 1000, 2]], [["more", 5000000, 3]]]})");
  auto r = env_.Run("load -i " + in);
  ASSERT_EQ(r.rc, 0) << r.err;
  if (!Overlay()) GTEST_SKIP() << "the copy driver keeps layer tars";
  EXPECT_EQ(Trim(env_.Run("inspect --format '{{.Id}}' split:1").out), id);
  // content/ holds the config and two small tar-splits, not the 11 MB of tars.
  EXPECT_EQ(Blobs(), 3);
  EXPECT_LT(std::stoll(env_.Shell("du -sk " + env_.root() + "/content | cut -f1").out), 200);
  // save rebuilds each layer tar byte for byte.
  std::string out = env_.dir() + "/out.tar";
  auto s = env_.Run("save -o " + out + " split:1");
  ASSERT_EQ(s.rc, 0) << s.err;
  auto layers = env_.Shell("tar -tf " + in + " | grep layer.tar").out;
  int n = 0;
  for (size_t p = 0, e; (e = layers.find('\n', p)) != std::string::npos; p = e + 1, ++n) {
    std::string name = layers.substr(p, e - p);
    std::string hex = name.substr(0, 64);
    EXPECT_TRUE(Member(in, name) == Member(out, "blobs/sha256/" + hex)) << name;
  }
  EXPECT_EQ(n, 2);
  EXPECT_EQ(Trim(env_.Run("system check --verify-blobs").out), "store is consistent");
  // A file changed under the snapshot is caught, not saved as the layer.
  auto f = Trim(env_.Shell("ls " + env_.root() + "/snapshots/*/fs/data/more").out);
  ASSERT_FALSE(f.empty());
  env_.Shell("printf X | dd of=" + f + " bs=1 seek=100 conv=notrunc 2>/dev/null");
  s = env_.Run("save -o " + out + ".2 split:1");
  EXPECT_EQ(s.rc, 1);
  EXPECT_NE(s.err.find("does not match its diff ID"), std::string::npos) << s.err;
  EXPECT_EQ(std::count(s.err.begin(), s.err.end(), '\n'), 1) << s.err;
  EXPECT_NE(env_.Run("system check --verify-blobs").out.find("does not match"), std::string::npos);
  env_.Shell("truncate -s 10 " + f);
  s = env_.Run("save -o " + out + ".3 split:1");
  EXPECT_EQ(s.rc, 1);
  EXPECT_NE(s.err.find("\"data/more\" changed since it was unpacked"), std::string::npos) << s.err;
  // Removing the image removes the splits as well.
  ASSERT_EQ(env_.Run("rmi split:1").rc, 0);
  EXPECT_EQ(Blobs(), 0);
}

TEST_F(LoadTest, ALayerRepeatedInOneImageSharesItsSplit) {
  std::string in = env_.dir() + "/rep.tar";
  std::string id = MakeArchive(in, R"({"tag": "rep:1", "order": [0, 1, 0],
              "layers": [[["a", 5000000, 4]], [["b", 5000000, 5]]]})");
  auto r = env_.Run("load -i " + in);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(Trim(env_.Run("inspect --format '{{len .RootFS.Layers}}' rep:1").out), "3");
  std::string out = env_.dir() + "/out.tar";
  ASSERT_EQ(env_.Run("save -o " + out + " rep:1").rc, 0);
  std::string first = Trim(env_.Shell("tar -tf " + in + " | grep layer.tar | head -1").out);
  EXPECT_TRUE(Member(in, first) == Member(out, "blobs/sha256/" + first.substr(0, 64)));
  EXPECT_EQ(Trim(env_.Run("system check --verify-blobs").out), "store is consistent");
  StrataEnv again;
  auto l = again.Run("load -i " + out);
  ASSERT_EQ(l.rc, 0) << l.err;
  EXPECT_EQ(Trim(again.Run("inspect --format '{{.Id}}' rep:1").out), id);
}

TEST_F(LoadTest, ATarWhoseFilesCannotRebuildItIsKeptWhole) {
  // Two entries for one path: the second overwrites the first on disk, so a
  // split could not give the first one's data back; load keeps the tar.
  std::string dup = env_.dir() + "/dup-layer.tar";
  auto r = env_.Shell("cd " + env_.dir() +
                      " && mkdir -p d1 d2 && head -c 5000000 /dev/urandom > d1/f && "
                      "head -c 3000 /dev/urandom > d2/f && tar -cf " +
                      dup + " -C d1 f && tar -rf " + dup + " -C d2 f");
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_EQ(env_.Run("import " + dup + " dup:src").rc, 0);
  std::string in = env_.dir() + "/dup.tar";
  ASSERT_EQ(env_.Run("save -o " + in + " dup:src").rc, 0);
  StrataEnv other;
  auto l = other.Run("load -i " + in);
  ASSERT_EQ(l.rc, 0) << l.err;
  std::string diff = Trim(other.Run("inspect --format '{{index .RootFS.Layers 0}}' dup:src").out);
  ASSERT_EQ(diff.size(), 71u);
  EXPECT_EQ(other.Shell("test -f " + other.root() + "/content/blobs/sha256/" + diff.substr(7)).rc,
            0);
  std::string out = other.dir() + "/out.tar";
  ASSERT_EQ(other.Run("save -o " + out + " dup:src").rc, 0);
  EXPECT_EQ(other.Shell("cmp " + in + " " + out).rc, 0);
}

}  // namespace
}  // namespace strata::testing
