// Loopback peers for the registry tests: a tiny scripted HTTP/1.1 server, child processes
// that are killed with the test, a throwaway CA, and the CNCF distribution registry.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "digest/digest.h"
#include "image/descriptor.h"
#include "image/media_types.h"
#include "registry/http.h"

extern char** environ;

namespace strata::registry::testing {

inline std::string ReadText(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void WriteText(const std::string& path, const std::string& text, int mode = 0644) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

// A socket listening on 127.0.0.1 at a port the kernel picks; *port gets that port.
inline int ListenLoopback(int backlog, int* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  ::listen(fd, backlog);
  return fd;
}

// A port nobody listens on right now (bind 0, read it back, close).
inline int FreePort() {
  int port = 0;
  ::close(ListenLoopback(1, &port));
  return port;
}

inline bool HaveProgram(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// Runs a shell command, returns its exit status (output to the given log file).
inline int Sh(const std::string& cmd) { return std::system(cmd.c_str()); }

// A child process in its own session, killed (SIGTERM, then SIGKILL) on destruction.
class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() { Stop(); }
  bool Start(const std::vector<std::string>& argv, const std::string& log) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int rc = posix_spawn(&pid_, argv[0].c_str(), &fa, &at, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) pid_ = -1;
    return rc == 0;
  }
  bool Running() { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 50; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) != 0) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// One request as the test server saw it.
struct SeenRequest {
  std::string method;
  std::string target;  // path and query
  Headers headers;
  std::string body;
};

struct Reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Sleep after the headers and this many body bytes (stall simulation).
  std::chrono::milliseconds stall{0};
  size_t stall_after = 0;
};

// Parses a request's head: the request line and the header fields, without the blank line.
inline SeenRequest ParseRequestHead(const std::string& text) {
  SeenRequest req;
  std::istringstream head(text);
  std::string line;
  std::getline(head, line);
  std::istringstream rl(line);
  rl >> req.method >> req.target;
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string v = line.substr(colon + 1);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    req.headers.Add(line.substr(0, colon), v);
  }
  return req;
}

// The status line and header fields of a reply with a body of `content_length` bytes, on
// a connection the server closes after it.
inline std::string ReplyHead(int status,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             size_t content_length) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " X\r\n";
  for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
  out += "Content-Length: " + std::to_string(content_length) + "\r\nConnection: close\r\n\r\n";
  return out;
}

// Listens on 127.0.0.1 and hands each accepted connection to `serve`, which owns its fd, on
// one accept thread. Stop (or the destructor) closes the socket and joins that thread: declare
// it after the members `serve` uses, so that it goes first.
class LoopbackListener {
 public:
  LoopbackListener(int backlog, std::function<void(int)> serve) : serve_(std::move(serve)) {
    fd_ = ListenLoopback(backlog, &port_);
    thread_ = std::thread([this] { Loop(); });
  }
  LoopbackListener(const LoopbackListener&) = delete;
  LoopbackListener& operator=(const LoopbackListener&) = delete;
  ~LoopbackListener() { Stop(); }
  void Stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  void Loop() {
    while (!stop_) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (stop_) return;
        continue;
      }
      serve_(c);
    }
  }

  std::function<void(int)> serve_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A scripted HTTP/1.1 server on 127.0.0.1 (one connection at a time, Connection: close).
// Reads Content-Length and chunked request bodies.
class TestServer {
 public:
  using Handler = std::function<Reply(const SeenRequest&)>;
  explicit TestServer(Handler h)
      : handler_(std::move(h)), listener_(16, [this](int c) {
          Serve(c);
          ::close(c);
        }) {}
  int port() const { return listener_.port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }
  std::vector<SeenRequest> requests() {
    std::lock_guard lk(mu_);
    return seen_;
  }

 private:
  static bool ReadMore(int c, std::string& buf) {
    char tmp[65536];
    ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<size_t>(n));
    return true;
  }
  void Serve(int c) {
    timeval tv{5, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string buf;
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadMore(c, buf)) return;
    }
    SeenRequest req = ParseRequestHead(buf.substr(0, end));
    std::string rest = buf.substr(end + 4);
    if (auto cl = req.headers.Get("Content-Length")) {
      size_t want = std::stoul(*cl);
      while (rest.size() < want && ReadMore(c, rest)) {
      }
      req.body = rest.substr(0, want);
    } else if (auto te = req.headers.Get("Transfer-Encoding"); te && *te == "chunked") {
      size_t pos = 0;
      for (;;) {
        size_t eol;
        while ((eol = rest.find("\r\n", pos)) == std::string::npos) {
          if (!ReadMore(c, rest)) return;
        }
        size_t n = std::stoul(rest.substr(pos, eol - pos), nullptr, 16);
        while (rest.size() < eol + 2 + n + 2) {
          if (!ReadMore(c, rest)) return;
        }
        req.body += rest.substr(eol + 2, n);
        pos = eol + 2 + n + 2;
        if (n == 0) break;
      }
    }
    Reply r = handler_(req);
    {
      std::lock_guard lk(mu_);
      seen_.push_back(req);
    }
    std::string out = ReplyHead(r.status, r.headers, r.body.size());
    size_t first = r.stall.count() > 0 ? std::min(r.stall_after, r.body.size()) : r.body.size();
    out += r.body.substr(0, first);
    ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
    if (r.stall.count() > 0) {
      std::this_thread::sleep_for(r.stall);
      ::send(c, r.body.data() + first, r.body.size() - first, MSG_NOSIGNAL);
    }
  }

  Handler handler_;
  std::mutex mu_;
  std::vector<SeenRequest> seen_;
  LoopbackListener listener_;
};

// n pseudo-random bytes from `seed` (a fixed LCG): blob bodies that gzip cannot shrink and
// that differ by seed.
inline std::string Pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed;
  for (auto& c : s) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 16);
  }
  return s;
}

// The descriptor of `body` as a gzip layer blob.
inline image::Descriptor BlobDesc(const std::string& body) {
  image::Descriptor d;
  d.media_type = std::string(image::media_type::kOciLayerGzip);
  d.digest = digest::Sha256Of(body);
  d.size = static_cast<int64_t>(body.size());
  return d;
}

// Query parameter values of a request target ("/token?scope=a&scope=b").
inline std::vector<std::string> QueryValues(const std::string& target, const std::string& key) {
  std::vector<std::string> out;
  auto q = target.find('?');
  if (q == std::string::npos) return out;
  std::string rest = target.substr(q + 1);
  std::stringstream ss(rest);
  std::string kv;
  while (std::getline(ss, kv, '&')) {
    auto eq = kv.find('=');
    if (kv.substr(0, eq) != key) continue;
    std::string v = eq == std::string::npos ? "" : kv.substr(eq + 1), dec;
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '%' && i + 2 < v.size()) {
        dec += static_cast<char>(std::stoi(v.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else if (v[i] == '+') {
        dec += ' ';
      } else {
        dec += v[i];
      }
    }
    out.push_back(dec);
  }
  return out;
}

// A CA and a server certificate for 127.0.0.1/localhost, made with the openssl CLI.
struct TestPki {
  std::string dir, ca_crt, server_crt, server_key, client_crt, client_key;
  // Empty on success, else why it failed.
  std::string Make(const std::string& d) {
    dir = d;
    ca_crt = dir + "/ca.crt";
    server_crt = dir + "/server.crt";
    server_key = dir + "/server.key";
    std::string log = " >>" + dir + "/openssl.log 2>&1";
    WriteText(dir + "/ext.cnf",
              "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
              "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
              "extendedKeyUsage=serverAuth\n");
    std::string cmds[] = {
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=strata-test-ca -keyout " +
            dir + "/ca.key -out " + ca_crt,
        "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout " + server_key + " -out " +
            dir + "/server.csr",
        "openssl x509 -req -days 2 -in " + dir + "/server.csr -CA " + ca_crt + " -CAkey " + dir +
            "/ca.key -CAcreateserial -extfile " + dir + "/ext.cnf -out " + server_crt,
    };
    for (const auto& c : cmds) {
      if (Sh(c + log) != 0) return "openssl failed: " + ReadText(dir + "/openssl.log");
    }
    return "";
  }
};

inline std::string RegistryBinary() {
  const char* b = std::getenv("REGISTRY_BIN");
  return b != nullptr ? b : "/usr/bin/docker-registry";
}

// bcrypt htpasswd line: htpasswd -B when apache2-utils is there, else python3's crypt.
inline std::string Htpasswd(const std::string& user, const std::string& password,
                            const std::string& tmp) {
  std::string out = tmp + "/htpasswd.out";
  if (HaveProgram("htpasswd") &&
      Sh("htpasswd -nbB '" + user + "' '" + password + "' >" + out + " 2>/dev/null") == 0) {
    std::string s = ReadText(out);
    return s.substr(0, s.find('\n'));
  }
  if (Sh("python3 -c 'import crypt,sys; print(sys.argv[1]+\":\"+crypt.crypt(sys.argv[2], "
         "crypt.mksalt(crypt.METHOD_BLOWFISH)))' '" +
         user + "' '" + password + "' >" + out + " 2>/dev/null") == 0) {
    std::string s = ReadText(out);
    return s.substr(0, s.find('\n'));
  }
  return "";
}

// The distribution registry on 127.0.0.1:<port> with the given extra config (YAML lines
// under the top level, e.g. auth and http.tls). Waits until /v2/ accepts connections.
class Registry {
 public:
  // Empty on success, else the reason to skip or fail.
  std::string Start(const std::string& dir, const std::string& extra_http,
                    const std::string& extra_top) {
    if (::access(RegistryBinary().c_str(), X_OK) != 0) {
      return "docker-registry not installed (" + RegistryBinary() + ")";
    }
    port_ = FreePort();
    std::filesystem::create_directories(dir + "/storage");
    std::string config = dir + "/config.yml";
    WriteText(config,
              "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
              "    rootdirectory: " +
                  dir + "/storage\n" + extra_top +
                  "http:\n  addr: 127.0.0.1:" + std::to_string(port_) + "\n" + extra_http);
    log_ = dir + "/registry.log";
    if (!proc_.Start({RegistryBinary(), "serve", config}, log_)) return "cannot start registry";
    for (int i = 0; i < 150; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port_));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
      ::close(fd);
      if (rc == 0) return "";
      if (!proc_.Running()) return "registry exited: " + ReadText(log_);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return "registry did not listen: " + ReadText(log_);
  }
  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return ReadText(log_); }

 private:
  Process proc_;
  int port_ = 0;
  std::string log_;
};

}  // namespace strata::registry::testing
