// TarBuilder: crafts raw tar streams for tests, including malformed and
// malicious entries (like containerd's tartest), independently of TarWriter.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <string>

namespace strata::archive::testing {

struct RawEntry {
  std::string name;
  char type = '0';
  uint32_t mode = 0644;
  int64_t uid = 0;
  int64_t gid = 0;
  int64_t mtime = 1700000000;
  std::string linkname;
  std::string data;
  uint32_t devmajor = 0;
  uint32_t devminor = 0;
  std::map<std::string, std::string> pax;  // extended header records, if any
};

class TarBuilder {
 public:
  TarBuilder& Add(const RawEntry& e) {
    if (!e.pax.empty()) {
      std::string recs;
      for (const auto& [k, v] : e.pax) recs += Record(k, v);
      RawEntry x;
      x.name = "PaxHeader";
      x.type = 'x';
      x.data = recs;
      AddRaw(x);
    }
    AddRaw(e);
    return *this;
  }
  TarBuilder& File(const std::string& name, const std::string& data, uint32_t mode = 0644) {
    RawEntry e;
    e.name = name;
    e.data = data;
    e.mode = mode;
    return Add(e);
  }
  TarBuilder& Dir(const std::string& name, uint32_t mode = 0755) {
    RawEntry e;
    e.name = name;
    e.type = '5';
    e.mode = mode;
    return Add(e);
  }
  TarBuilder& Symlink(const std::string& name, const std::string& target) {
    RawEntry e;
    e.name = name;
    e.type = '2';
    e.mode = 0777;
    e.linkname = target;
    return Add(e);
  }
  TarBuilder& Hardlink(const std::string& name, const std::string& target) {
    RawEntry e;
    e.name = name;
    e.type = '1';
    e.linkname = target;
    return Add(e);
  }
  // The end-of-archive marker plus record padding (as GNU tar writes it).
  std::string Finish(size_t record = 10240) {
    std::string out = buf_;
    out.append(1024, '\0');
    if (record > 0 && out.size() % record != 0) out.append(record - out.size() % record, '\0');
    return out;
  }
  // Without end marker: a truncated archive.
  const std::string& Unterminated() const { return buf_; }

  // A 512-byte header for e, with a correct checksum unless told otherwise.
  static std::string Header(const RawEntry& e, bool good_checksum = true) {
    char b[512] = {};
    std::memcpy(b, e.name.data(), std::min<size_t>(e.name.size(), 100));
    Octal(b + 100, 8, e.mode);
    Octal(b + 108, 8, e.uid);
    Octal(b + 116, 8, e.gid);
    Octal(b + 124, 12, static_cast<int64_t>(e.data.size()));
    Octal(b + 136, 12, e.mtime);
    b[156] = e.type;
    std::memcpy(b + 157, e.linkname.data(), std::min<size_t>(e.linkname.size(), 100));
    std::memcpy(b + 257,
                "ustar\0"
                "00",
                8);
    Octal(b + 329, 8, e.devmajor);
    Octal(b + 337, 8, e.devminor);
    std::memset(b + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : b) sum += c;
    if (!good_checksum) sum += 1;
    Octal(b + 148, 7, sum);
    return std::string(b, 512);
  }

  TarBuilder& AddRaw(const RawEntry& e, bool good_checksum = true) {
    buf_ += Header(e, good_checksum);
    buf_ += e.data;
    if (e.data.size() % 512 != 0) buf_.append(512 - e.data.size() % 512, '\0');
    return *this;
  }

 private:
  static void Octal(char* p, size_t len, int64_t v) {
    std::string s(len - 1, '0');
    for (size_t i = len - 1; i-- > 0 && v > 0; v >>= 3) s[i] = static_cast<char>('0' + (v & 7));
    std::memcpy(p, s.data(), len - 1);
  }
  static std::string Record(const std::string& k, const std::string& v) {
    size_t n = k.size() + v.size() + 3;
    n += std::to_string(n).size();
    std::string r = std::to_string(n) + " " + k + "=" + v + "\n";
    if (r.size() != n) r = std::to_string(r.size()) + " " + k + "=" + v + "\n";
    return r;
  }

  std::string buf_;
};

}  // namespace strata::archive::testing
