#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "archive/tar_builder.h"
#include "archive/tar_reader.h"
#include "archive/tar_writer.h"
#include "util/fs.h"

namespace strata::archive {
namespace {

using testing::RawEntry;
using testing::TarBuilder;

struct Read {
  TarEntry e;
  std::string data;
};

Result<std::vector<Read>> ReadTar(const std::string& tar) {
  StringReader sr(tar);
  TarReader tr(sr);
  std::vector<Read> out;
  for (;;) {
    STRATA_ASSIGN_OR_RETURN(auto e, tr.Next());
    if (!e) break;
    Read r{*e, ""};
    STRATA_ASSIGN_OR_RETURN(r.data, ReadAll(tr.content(), 1 << 26));
    out.push_back(std::move(r));
  }
  STRATA_TRY(tr.Finish());
  return out;
}

std::string RunTar(const std::string& tar, const std::string& args) {
  auto dir = TempDir::Create("/tmp", "strata-tar-");
  EXPECT_TRUE(WriteFileAtomic(dir->path() + "/t.tar", tar));
  // literal: names as bytes whatever the locale (in "C", tar would print \303\251).
  std::string cmd = "tar --quoting-style=literal " + args + " -f " + dir->path() + "/t.tar 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << out;
  return out;
}

std::vector<TarEntry> SampleEntries() {
  std::vector<TarEntry> v;
  TarEntry d;
  d.path = "etc";
  d.type = EntryType::kDir;
  d.mode = 0755;
  d.mtime_sec = 1600000000;
  v.push_back(d);
  TarEntry f;
  f.path = "etc/hosts";
  f.mode = 04755;
  f.uid = 1000;
  f.gid = 100;
  f.size = 11;
  f.mtime_sec = 1600000001;
  v.push_back(f);
  TarEntry l;
  l.path = "etc/link";
  l.type = EntryType::kSymlink;
  l.mode = 0777;
  l.linkname = "../usr/lib/very/far/away";
  v.push_back(l);
  TarEntry h;
  h.path = "etc/hosts2";
  h.type = EntryType::kHardlink;
  h.linkname = "etc/hosts";
  v.push_back(h);
  TarEntry c;
  c.path = "dev/null";
  c.type = EntryType::kCharDevice;
  c.mode = 0666;
  c.devmajor = 1;
  c.devminor = 3;
  v.push_back(c);
  TarEntry fifo;
  fifo.path = "run/fifo";
  fifo.type = EntryType::kFifo;
  fifo.mode = 0600;
  v.push_back(fifo);
  // Long, but splittable into USTAR prefix + name: stays plain USTAR.
  TarEntry split;
  split.path = std::string(120, 'p') + "/" + std::string(50, 'n');
  v.push_back(split);
  // Too long to split, non-ASCII, xattrs, large uid: need PAX.
  TarEntry longp;
  longp.path = std::string(200, 'x') + "/\xc3\xa9t\xc3\xa9";
  longp.uid = 1ll << 30;
  longp.size = 3;
  longp.xattrs = {{"security.capability", std::string("\x01\x00\x00\x02", 4)}, {"user.note", "hi"}};
  v.push_back(longp);
  TarEntry longlink;
  longlink.path = "ll";
  longlink.type = EntryType::kSymlink;
  longlink.linkname = std::string(150, 't');
  v.push_back(longlink);
  return v;
}

std::string WriteSample() {
  StringWriter sw;
  TarWriter tw(sw);
  for (const auto& e : SampleEntries()) {
    EXPECT_TRUE(tw.WriteHeader(e));
    if (e.type == EntryType::kFile && e.size > 0) {
      std::string data = e.size == 11 ? "127.0.0.1\n!" : "abc";
      EXPECT_TRUE(tw.WriteData(data.data(), data.size()));
    }
  }
  EXPECT_TRUE(tw.Close());
  return sw.take();
}

TEST(TarWriter, RoundTripsEveryField) {
  std::string tar = WriteSample();
  EXPECT_EQ(tar.size() % 512, 0u);
  EXPECT_EQ(tar.substr(tar.size() - 1024), std::string(1024, '\0'));
  auto got = ReadTar(tar);
  ASSERT_TRUE(got) << got.error().message;
  auto want = SampleEntries();
  ASSERT_EQ(got->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const TarEntry& g = (*got)[i].e;
    const TarEntry& w = want[i];
    SCOPED_TRACE(w.path);
    EXPECT_EQ(g.path, w.path + (w.type == EntryType::kDir ? "/" : ""));
    EXPECT_EQ(g.type, w.type);
    if (w.type != EntryType::kHardlink) EXPECT_EQ(g.mode, w.mode);
    EXPECT_EQ(g.uid, w.uid);
    EXPECT_EQ(g.gid, w.gid);
    EXPECT_EQ(g.size, w.size);
    EXPECT_EQ(g.mtime_sec, w.mtime_sec);
    EXPECT_EQ(g.linkname, w.linkname);
    EXPECT_EQ(g.devmajor, w.devmajor);
    EXPECT_EQ(g.devminor, w.devminor);
    EXPECT_EQ(g.xattrs, w.xattrs);
  }
  EXPECT_EQ((*got)[1].data, "127.0.0.1\n!");
  EXPECT_EQ((*got)[7].data, "abc");
}

TEST(TarWriter, HeadersLookLikeGoArchiveTar) {
  StringWriter sw;
  TarWriter tw(sw);
  TarEntry f;
  f.path = "a";
  f.mode = 0644;
  f.mtime_sec = 8;
  ASSERT_TRUE(tw.WriteHeader(f));
  ASSERT_TRUE(tw.Close());
  const std::string& h = sw.str();
  EXPECT_EQ(h.substr(100, 8), std::string("0000644\0", 8));
  EXPECT_EQ(h.substr(124, 12), std::string("00000000000\0", 12));
  EXPECT_EQ(h.substr(136, 12), std::string("00000000010\0", 12));
  EXPECT_EQ(h.substr(257, 8), std::string("ustar\0"
                                          "00",
                                          8));
  EXPECT_EQ(h[155], ' ');
  EXPECT_EQ(h[154], '\0');
  EXPECT_EQ(h.substr(265, 64), std::string(64, '\0'));  // uname, gname empty
  EXPECT_EQ(h.substr(329, 8), std::string("0000000\0", 8));
  // PAX header for an entry with xattrs, named as Go names it.
  StringWriter sw2;
  TarWriter tw2(sw2);
  TarEntry x;
  x.path = "dir/file";
  x.xattrs = {{"user.a", "1"}};
  ASSERT_TRUE(tw2.WriteHeader(x));
  ASSERT_TRUE(tw2.Close());
  EXPECT_EQ(sw2.str().substr(0, 22), "dir/PaxHeaders.0/file" + std::string(1, '\0'));
  EXPECT_EQ(sw2.str()[156], 'x');
  EXPECT_EQ(sw2.str().substr(512, 24), "25 SCHILY.xattr.user.a=1");
}

TEST(TarWriter, IsDeterministic) { EXPECT_EQ(WriteSample(), WriteSample()); }

TEST(TarWriter, GnuTarReadsIt) {
  std::string out = RunTar(WriteSample(), "--numeric-owner -tv");
  EXPECT_NE(out.find("drwxr-xr-x 0/0"), std::string::npos) << out;
  EXPECT_NE(out.find("-rwsr-xr-x 1000/100"), std::string::npos) << out;
  EXPECT_NE(out.find("etc/hosts2 link to etc/hosts"), std::string::npos) << out;
  EXPECT_NE(out.find("etc/link -> ../usr/lib/very/far/away"), std::string::npos) << out;
  EXPECT_NE(out.find("crw-rw-rw- 0/0             1,3 1970-01-01 00:00 dev/null"), std::string::npos)
      << out;
  EXPECT_NE(out.find(std::string(200, 'x') + "/\xc3\xa9t\xc3\xa9"), std::string::npos) << out;
  EXPECT_NE(out.find(std::string(120, 'p') + "/" + std::string(50, 'n')), std::string::npos);
  EXPECT_NE(out.find("ll -> " + std::string(150, 't')), std::string::npos) << out;
  EXPECT_EQ(out.find("PaxHeaders"), std::string::npos) << out;
}

TEST(TarWriter, RejectsWrongDataLength) {
  StringWriter sw;
  TarWriter tw(sw);
  TarEntry f;
  f.path = "f";
  f.size = 4;
  ASSERT_TRUE(tw.WriteHeader(f));
  EXPECT_FALSE(tw.WriteData("12345", 5));
  ASSERT_TRUE(tw.WriteData("12", 2));
  EXPECT_FALSE(tw.Close());
}

TEST(TarReader, ReadsGnuTarOutput) {
  auto dir = TempDir::Create("/tmp", "strata-tarsrc-");
  ASSERT_TRUE(MakeDirs(dir->path() + "/src/sub"));
  ASSERT_TRUE(WriteFileAtomic(dir->path() + "/src/sub/f", "hello"));
  std::string long_name = dir->path() + "/src/" + std::string(150, 'L');
  ASSERT_TRUE(WriteFileAtomic(long_name, "long"));
  std::string cmd = "tar --format=gnu -C " + dir->path() + "/src -cf " + dir->path() +
                    "/gnu.tar . && tar --format=pax -C " + dir->path() + "/src -cf " + dir->path() +
                    "/pax.tar .";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  for (const char* f : {"/gnu.tar", "/pax.tar"}) {
    auto tar = ReadFile(dir->path() + f);
    ASSERT_TRUE(tar);
    auto got = ReadTar(*tar);
    ASSERT_TRUE(got) << got.error().message;
    bool saw_f = false, saw_long = false;
    for (const auto& r : *got) {
      if (r.e.path == "./sub/f") saw_f = r.data == "hello";
      if (r.e.path == "./" + std::string(150, 'L')) saw_long = r.data == "long";
    }
    EXPECT_TRUE(saw_f) << f;
    EXPECT_TRUE(saw_long) << f;
  }
}

TEST(TarReader, MalformedHeadersAreErrors) {
  RawEntry e;
  e.name = "x";
  e.data = "1234";
  TarBuilder bad;
  bad.AddRaw(e, /*good_checksum=*/false);
  auto r = ReadTar(bad.Finish());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);

  // Header promises more data than the stream has.
  TarBuilder trunc;
  e.data = std::string(5000, 'z');
  trunc.AddRaw(e);
  std::string t = trunc.Unterminated().substr(0, 2048);
  auto r2 = ReadTar(t);
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message.find("unexpected EOF"), std::string::npos) << r2.error().message;

  EXPECT_FALSE(ReadTar(std::string(700, 'g')));
  // Empty input is an empty archive (as Go's reader treats it).
  auto empty = ReadTar("");
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_TRUE(empty->empty());
}

TEST(TarReader, FinishConsumesTrailingPadding) {
  TarBuilder b;
  b.File("a", "x");
  std::string tar = b.Finish(10240 * 4);
  StringReader sr(tar);
  CountingWriter unused;
  struct Counting : Reader {
    Reader& r;
    uint64_t n = 0;
    explicit Counting(Reader& in) : r(in) {}
    Result<size_t> Read(void* buf, size_t len) override {
      auto got = r.Read(buf, len);
      if (got) n += *got;
      return got;
    }
  } counting(sr);
  TarReader tr(counting);
  auto e = tr.Next();
  ASSERT_TRUE(e && *e);
  auto end = tr.Next();
  ASSERT_TRUE(end && !*end);
  ASSERT_TRUE(tr.Finish());
  EXPECT_EQ(counting.n, tar.size());
}

}  // namespace
}  // namespace strata::archive
