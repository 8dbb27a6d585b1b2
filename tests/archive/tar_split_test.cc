// Tar-split: the split of a tar plus the files it unpacked to give back the
// tar byte for byte, and the checks that tell when they cannot.
#include "archive/tar_split.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include "archive/apply.h"
#include "archive/tar_builder.h"
#include "util/fs.h"

namespace strata::archive {
namespace {

using testing::RawEntry;
using testing::TarBuilder;

class TarSplitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create(::testing::TempDir(), "tarsplit-");
    ASSERT_TRUE(t);
    tmp_ = std::move(*t);
  }

  struct Split {
    std::string bytes;
    bool ok = false;
    bool lists_match = false;
    bool replaced = false;
    std::string root;
  };

  // Unpacks `tar` as an overlay upper dir while splitting the same bytes, as
  // load does.
  Split Unpack(const std::string& tar) {
    Split s;
    s.root = tmp_.path() + "/root" + std::to_string(n_++);
    EXPECT_TRUE(MakeDirs(s.root));
    StringWriter out;
    TarSplitWriter w(out);
    EXPECT_TRUE(w.Write(tar));
    EXPECT_TRUE(w.Finish());
    s.ok = w.ok();
    StringReader in(tar);
    ApplyOptions o;
    o.mode = ApplyMode::kOverlayDiff;
    auto stats = ApplyLayer(in, s.root, o);
    EXPECT_TRUE(stats) << stats.error().message;
    if (stats) {
      s.lists_match = stats->file_list == w.files();
      s.replaced = stats->replaced;
    }
    EXPECT_EQ(w.tar_size(), tar.size());
    s.bytes = out.take();
    return s;
  }

  Result<std::string> Regenerate(const Split& s, size_t chunk = 1 << 20) {
    StringReader sr(s.bytes);
    STRATA_ASSIGN_OR_RETURN(auto r, TarSplitReader::Open(sr, s.root));
    std::string out, buf(chunk, '\0');
    for (;;) {
      STRATA_ASSIGN_OR_RETURN(size_t k, r->Read(buf.data(), buf.size()));
      if (k == 0) return out;
      out.append(buf.data(), k);
    }
  }

  TempDir tmp_;
  int n_ = 0;
};

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(g());
  return s;
}

TEST_F(TarSplitTest, RebuildsEveryKindOfEntryByteForByte) {
  RawEntry xattr;
  xattr.name = "etc/cap";
  xattr.data = "capable";
  xattr.pax = {{"SCHILY.xattr.user.note", "hello"}};
  RawEntry longname;
  longname.name = "deep/" + std::string(150, 'n') + "/file";  // pax path
  longname.data = RandomBytes(3000, 7);
  longname.pax = {{"path", longname.name}};
  std::string tar = TarBuilder()
                        .Dir("etc/")
                        .File("etc/empty", "")
                        .File("etc/one-block", std::string(512, 'x'))
                        .File("etc/odd", RandomBytes(1234567, 1), 0600)
                        .Add(xattr)
                        .Symlink("etc/link", "../etc/odd")
                        .Hardlink("etc/hard", "etc/odd")
                        .Add(longname)
                        .File("./dot/slash", "relative name")
                        .File("/abs/name", "absolute name")
                        .File("d/.wh.gone", "")
                        .File("d/.wh..wh..opq", "")
                        .Finish();
  Split s = Unpack(tar);
  EXPECT_TRUE(s.ok);
  EXPECT_TRUE(s.lists_match);
  EXPECT_FALSE(s.replaced);
  // The split holds headers, not the 1.2 MB of file data.
  EXPECT_LT(s.bytes.size(), 32u << 10);
  auto back = Regenerate(s);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_TRUE(*back == tar);
  // Small reads give the same bytes.
  auto small = Regenerate(s, 7);
  ASSERT_TRUE(small);
  EXPECT_TRUE(*small == tar);
}

TEST_F(TarSplitTest, GnuTarFormatsRoundTrip) {
  std::string src = tmp_.path() + "/src";
  ASSERT_TRUE(MakeDirs(src + "/" + std::string(120, 'g')));
  ASSERT_TRUE(WriteFileAtomic(src + "/" + std::string(120, 'g') + "/" + std::string(110, 'f'),
                              RandomBytes(10000, 3)));
  ASSERT_TRUE(WriteFileAtomic(src + "/plain", RandomBytes(513, 4)));
  ASSERT_EQ(::symlink(("/" + std::string(200, 't')).c_str(), (src + "/longlink").c_str()), 0);
  for (std::string fmt : {"gnu", "posix", "ustar", "oldgnu"}) {
    SCOPED_TRACE(fmt);
    std::string out = tmp_.path() + "/" + fmt + ".tar";
    std::string names = fmt == "ustar" ? "plain" : ". ";  // ustar cannot hold the long names
    std::string cmd = "tar --format=" + fmt + " -C " + src + " -cf " + out + " " + names;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    auto tar = ReadFile(out);
    ASSERT_TRUE(tar);
    Split s = Unpack(*tar);
    EXPECT_TRUE(s.ok);
    EXPECT_TRUE(s.lists_match);
    auto back = Regenerate(s);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_TRUE(*back == *tar);
  }
}

TEST_F(TarSplitTest, DuplicateEntriesAreReportedAsReplaced) {
  // The second "a" overwrites the first on disk: the first one's data could
  // not be read back, so the caller must keep the tar instead.
  std::string tar = TarBuilder().File("a", "first").File("a", "second!").Finish();
  Split s = Unpack(tar);
  EXPECT_TRUE(s.replaced);
  std::string t2 = TarBuilder().Dir("d/").File("d/f", "data").File("d/.wh.f", "").Finish();
  EXPECT_TRUE(Unpack(t2).replaced);
  std::string t3 = TarBuilder().File("x", "data").Dir("x/").Finish();
  EXPECT_TRUE(Unpack(t3).replaced);
}

TEST_F(TarSplitTest, SparseFilesDoNotMatchTheFileList) {
  std::string src = tmp_.path() + "/sparse";
  ASSERT_TRUE(MakeDirs(src));
  std::string cmd = "truncate -s 10M " + src + "/big && printf tail >> " + src +
                    "/big && tar --sparse -C " + src + " -cf " + tmp_.path() + "/s.tar big";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto tar = ReadFile(tmp_.path() + "/s.tar");
  ASSERT_TRUE(tar);
  Split s = Unpack(*tar);
  EXPECT_FALSE(s.lists_match);
  // Still a faithful split: sparse data is kept verbatim.
  auto back = Regenerate(s);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_TRUE(*back == *tar);
}

TEST_F(TarSplitTest, AnyByteStreamComesBackVerbatim) {
  // Garbage, truncated tars and trailing junk: whatever the writer does not
  // understand it keeps, so the split never loses bytes.
  std::string data = RandomBytes(5000, 9);
  std::string good = TarBuilder().File("f", data).Finish(0);
  struct Case {
    std::string bytes;
    std::string f;  // content of the unpacked file "f", if the tar names one
    bool exact;     // comes back byte for byte (else: an error, never a crash)
  };
  std::vector<Case> cases = {
      {"", "", true},
      {RandomBytes(100, 1), "", true},
      {RandomBytes(5000, 2), "", true},
      {TarBuilder().Dir("d/").Finish() + RandomBytes(999, 3), "", true},  // junk after the end
      {good + RandomBytes(1000, 5), data, true},
      {TarBuilder().File("f", "x").Unterminated(), "x", true},
      {good.substr(0, 700), data, false},  // ends inside the file data
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    StringWriter out;
    TarSplitWriter w(out);
    ASSERT_TRUE(w.Write(cases[i].bytes));
    ASSERT_TRUE(w.Finish());
    Split s;
    s.bytes = out.take();
    s.root = tmp_.path() + "/case" + std::to_string(i);
    ASSERT_TRUE(MakeDirs(s.root));
    if (!cases[i].f.empty()) ASSERT_TRUE(WriteFileAtomic(s.root + "/f", cases[i].f));
    auto back = Regenerate(s);
    if (!cases[i].exact) {
      EXPECT_FALSE(back);
      continue;
    }
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_TRUE(*back == cases[i].bytes);
  }
  EXPECT_FALSE([&] {
    StringWriter out;
    TarSplitWriter w(out);
    (void)w.Write(RandomBytes(2048, 11));
    (void)w.Finish();
    return w.ok();
  }());
}

TEST_F(TarSplitTest, ChangedOrMissingFilesAreErrors) {
  std::string tar = TarBuilder().File("a", "aaaa").File("b", "bbbb").Finish();
  Split s = Unpack(tar);
  ASSERT_TRUE(s.lists_match);
  ASSERT_TRUE(WriteFileAtomic(s.root + "/a", "longer content"));
  auto r = Regenerate(s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("\"a\" changed"), std::string::npos) << r.error().message;
  ASSERT_EQ(::unlink((s.root + "/a").c_str()), 0);
  r = Regenerate(s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("\"a\" is missing"), std::string::npos) << r.error().message;
  // A symlink in place of the file is not followed out of the root.
  ASSERT_EQ(::symlink("/etc/passwd", (s.root + "/a").c_str()), 0);
  EXPECT_FALSE(Regenerate(s));
  // A corrupt split is an error, not a crash.
  Split bad = s;
  bad.bytes = bad.bytes.substr(0, bad.bytes.size() - 3);
  EXPECT_FALSE(Regenerate(bad));
  bad.bytes = "not a split";
  EXPECT_FALSE(Regenerate(bad));
}

}  // namespace
}  // namespace strata::archive
