// Runs the real strata binary against a throwaway store, for end-to-end tests.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "util/fs.h"

namespace strata::testing {

struct RunResult {
  int rc = -1;
  std::string out, err;
};

inline std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

class StrataEnv {
 public:
  StrataEnv() {
    auto t = TempDir::Create("/tmp", "strata-cli-");
    dir_ = std::move(*t);
  }
  const std::string& dir() const { return dir_.path(); }
  std::string root() const { return dir_.path() + "/root"; }
  // Runs `strata --root ROOT <args>` through the shell (args are shell text).
  RunResult Run(const std::string& args, const std::string& stdin_file = "") const {
    return Shell(std::string(STRATA_BINARY) + " --root " + root() + " " + args, stdin_file);
  }
  RunResult Shell(const std::string& cmd, const std::string& stdin_file = "") const {
    std::string out = dir_.path() + "/.out", err = dir_.path() + "/.err";
    std::string full = "( " + cmd + " ) >" + out + " 2>" + err +
                       (stdin_file.empty() ? " </dev/null" : " <" + stdin_file);
    int st = std::system(full.c_str());
    RunResult r;
    r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r.out = Slurp(out);
    r.err = Slurp(err);
    return r;
  }
  // The busybox rootfs tar from Debian's busybox-static (shared recipe).
  std::string BusyboxTar() const {
    std::string p = dir_.path() + "/busybox.tar";
    if (::access(p.c_str(), F_OK) != 0) {
      Shell("sh " + std::string(STRATA_SOURCE_DIR) + "/examples/busybox/make-rootfs.sh " + p);
    }
    return p;
  }

 private:
  TempDir dir_;
};

inline std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace strata::testing
