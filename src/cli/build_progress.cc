#include "cli/build_progress.h"

#include <sys/ioctl.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>

namespace strata::cli {
namespace {

// BuildKit's escape sequences (github.com/morikuni/aec) and colours (progressui/colors.go
// defaults of the 20.10 CLI: done blue, error red, cancelled yellow, output faint).
constexpr const char* kHide = "\x1b[?25l";
constexpr const char* kShow = "\x1b[?25h";
constexpr const char* kReset = "\x1b[0m";
constexpr const char* kBlue = "\x1b[34m";
constexpr const char* kRed = "\x1b[31m";
constexpr const char* kYellow = "\x1b[33m";
constexpr const char* kFaint = "\x1b[2m";
// Columns the output rows leave free: " => => # " and a margin (BuildKit's termPad).
constexpr int kTermPad = 10;
// Characters kept of one output line: the last rows of any sane terminal width.
constexpr size_t kMaxTail = 4096;

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// s cut to at most n bytes, not in the middle of a UTF-8 sequence.
std::string Cut(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// Go's fmt "%-*s %s": l padded to w-len(r)-1, a space, then r.
std::string Align(const std::string& l, const std::string& r, int w) {
  std::string out = l;
  int pad = w - static_cast<int>(r.size()) - 1;
  if (static_cast<int>(out.size()) < pad) out.append(static_cast<size_t>(pad) - out.size(), ' ');
  return out + " " + r;
}

// An output line as a terminal would leave it: what follows the last carriage return, with
// escape sequences and control characters gone and tabs expanded.
std::string Clean(const std::string& text) {
  std::string_view s = text;
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  if (size_t cr = s.rfind('\r'); cr != std::string_view::npos) s.remove_prefix(cr + 1);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0x1b) {
      if (i + 1 < s.size() && s[i + 1] == '[') {
        i += 2;
        while (i < s.size() && (s[i] < 0x40 || s[i] > 0x7e)) ++i;
      } else {
        ++i;
      }
    } else if (c == '\t') {
      out.append(8 - out.size() % 8, ' ');
    } else if (c >= 0x20 && c != 0x7f) {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

bool Blank(const std::string& s) { return s.find_first_not_of(' ') == std::string::npos; }

// "#12 rest" → {12, "rest"}.
bool SplitVertex(const std::string& line, int* id, std::string* rest) {
  if (line.size() < 3 || line[0] != '#') return false;
  size_t sp = line.find(' ');
  if (sp == std::string::npos || sp == 1) return false;
  for (size_t i = 1; i < sp; ++i) {
    if (line[i] < '0' || line[i] > '9') return false;
  }
  *id = std::atoi(line.c_str() + 1);
  *rest = line.substr(sp + 1);
  return true;
}

// Output lines are "<seconds with decimals> <text>"; statuses never start with a number.
bool SplitOutput(const std::string& rest, std::string* text) {
  size_t i = 0;
  while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') ++i;
  if (i == 0 || i >= rest.size() || rest[i] != '.') return false;
  size_t j = i + 1;
  while (j < rest.size() && rest[j] >= '0' && rest[j] <= '9') ++j;
  if (j == i + 1 || j >= rest.size() || rest[j] != ' ') return false;
  *text = rest.substr(j + 1);
  return true;
}

}  // namespace

TtySize TerminalSize(int fd) {
  TtySize size;
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
    size.width = ws.ws_col;
    size.height = ws.ws_row;
  }
  return size;
}

struct TtyProgress::Job {
  std::string name;
  double secs = 0;
  bool completed = false;
  const char* color = nullptr;     // completed lines only
  const Vertex* vertex = nullptr;  // whose line or status line it is
  bool status = false;
};

TtyProgress::TtyProgress(Writer& out, Clock clock, SizeFn size)
    : out_(out), clock_(std::move(clock)), size_(std::move(size)) {}

void TtyProgress::Line(const std::string& line) {
  std::lock_guard<std::mutex> l(mu_);
  if (finished_) return;
  TimePoint now = clock_();
  bool changed = false;
  Apply(line, now, &changed);
  if (changed || !last_draw_ || now - *last_draw_ >= kMinRedraw) Draw(now, false);
}

void TtyProgress::Tick() {
  std::lock_guard<std::mutex> l(mu_);
  if (finished_ || vertices_.empty()) return;  // the first frame waits for the first vertex
  Draw(clock_(), false);
}

void TtyProgress::Finish() {
  std::lock_guard<std::mutex> l(mu_);
  if (finished_) return;
  finished_ = true;
  if (vertices_.empty()) return;
  Draw(clock_(), true);
  // BuildKit's printErrorLogs: every failed (not cancelled) step with all its output.
  std::string logs;
  for (const Vertex& v : vertices_) {
    if (v.state != State::kError) continue;
    logs += "------\n > " + v.name + ":\n";
    for (const std::string& line : v.log) logs += line + "\n";
    logs += "------\n";
  }
  if (!logs.empty()) (void)out_.Write(logs);
}

void TtyProgress::Apply(const std::string& line, TimePoint now, bool* changed) {
  int id = 0;
  std::string rest;
  if (!SplitVertex(line, &id, &rest)) return;
  auto it = by_id_.find(id);
  if (it == by_id_.end()) {
    // The first line of a vertex is its label.
    Vertex v;
    v.name = rest;
    std::replace(v.name.begin(), v.name.end(), '\t', ' ');
    v.start = v.last_event = now;
    if (!first_start_) first_start_ = now;
    by_id_[id] = vertices_.size();
    vertices_.push_back(std::move(v));
    *changed = true;
    return;
  }
  Vertex& v = vertices_[it->second];
  auto end = [&](State s) {
    v.state = s;
    v.stop = now;
    v.tail.clear();
    // Only a failed step's log is printed at the end.
    if (s != State::kError) std::vector<std::string>().swap(v.log);
    *changed = true;
  };
  std::string text;
  if (rest == "CACHED") {
    end(State::kCached);
  } else if (rest.rfind("DONE ", 0) == 0) {
    v.reported = std::strtod(rest.c_str() + 5, nullptr);
    end(State::kDone);
  } else if (rest == "ERROR" || rest.rfind("ERROR: ", 0) == 0) {
    end(State::kError);
  } else if (rest == "CANCELED") {
    end(State::kCanceled);
  } else if (SplitOutput(rest, &text)) {
    if (v.state == State::kRunning) AddOutput(v, line, text);
  } else {
    constexpr std::string_view kDone = " done";
    std::string name = rest;
    if (name.size() > kDone.size() && name.ends_with(kDone))
      name.resize(name.size() - kDone.size());
    v.statuses.push_back({std::move(name), Seconds(now - v.last_event)});
    v.last_event = now;
  }
}

void TtyProgress::AddOutput(Vertex& v, const std::string& raw, const std::string& text) {
  v.log.push_back(raw);
  TailLine t;
  t.text = Clean(text);
  if (t.text.size() > kMaxTail) {
    t.skipped = t.text.size() - kMaxTail;
    t.text.erase(0, t.skipped);
  }
  v.tail.push_back(std::move(t));
  if (v.tail.size() > kLogRows) v.tail.pop_front();
}

// The last kLogRows rows of v's output on a terminal `width` columns wide (long lines wrap,
// as in BuildKit's vt100 pane); blank rows count, and are left out when drawn.
std::vector<std::string> TtyProgress::Rows(const Vertex& v, size_t width) const {
  std::vector<std::string> rows;
  for (auto it = v.tail.rbegin(); it != v.tail.rend() && rows.size() < kLogRows; ++it) {
    size_t len = it->skipped + it->text.size();
    size_t n = len == 0 ? 1 : (len + width - 1) / width;
    for (size_t k = n; k-- > 0 && rows.size() < kLogRows;) {
      size_t begin = std::max(k * width, it->skipped), stop = std::min((k + 1) * width, len);
      rows.push_back(begin < stop ? it->text.substr(begin - it->skipped, stop - begin) : "");
    }
  }
  std::reverse(rows.begin(), rows.end());
  return rows;
}

void TtyProgress::Draw(TimePoint now, bool all) {
  last_draw_ = now;
  TtySize size = size_();
  const int width = std::max(size.width, 1), height = std::max(size.height, 1);
  const size_t term_width = static_cast<size_t>(std::max(width - kTermPad, 1));

  std::vector<Job> jobs;
  int total = static_cast<int>(vertices_.size()), completed = 0;
  for (const Vertex& v : vertices_) {
    Job j;
    j.vertex = &v;
    j.name = v.name;
    j.completed = v.state != State::kRunning;
    j.secs = j.completed ? v.reported.value_or(Seconds(v.stop - v.start)) : Seconds(now - v.start);
    // BuildKit's words before the name, and the colour of an ended line.
    static constexpr std::pair<const char*, const char*> kLook[] = {
        {"", nullptr}, {"", kBlue}, {"CACHED ", kBlue}, {"ERROR ", kRed}, {"CANCELED ", kYellow}};
    const auto& [word, color] = kLook[static_cast<size_t>(v.state)];
    j.name = word + j.name;
    j.color = color;
    if (j.completed) ++completed;
    jobs.push_back(std::move(j));
    for (const SubStatus& s : v.statuses) {
      Job sj;
      sj.vertex = &v;
      sj.status = true;
      sj.name = "=> " + s.name;
      sj.secs = s.secs;
      sj.completed = true;
      sj.color = kBlue;
      jobs.push_back(std::move(sj));
    }
  }

  // BuildKit's setupTerminals: a running step gets its output pane while the screen has room
  // for it (6 rows and a margin) besides a line for every unfinished job.
  std::map<const Vertex*, std::vector<std::string>> rows;
  if (!all) {
    int in_use = static_cast<int>(
        std::count_if(jobs.begin(), jobs.end(), [](const Job& j) { return !j.completed; }));
    int free_lines = height - 2 - in_use, to_hide = 0;
    const int limit = static_cast<int>(kLogRows) + 3;
    for (const Job& j : jobs) {
      if (free_lines <= limit) break;
      if (j.completed || j.status || j.vertex->tail.empty()) continue;
      auto& r = rows[j.vertex] = Rows(*j.vertex, term_width);
      to_hide += static_cast<int>(
          std::count_if(r.begin(), r.end(), [](const std::string& s) { return !Blank(s); }));
      free_lines -= limit;
    }
    // BuildKit's wrapHeight: the oldest lines scroll off; unfinished ones cut from the top
    // come back in place of the first finished lines of what is left.
    int keep = height - 2 - to_hide;
    if (keep < 0) {
      jobs.clear();
    } else if (jobs.size() > static_cast<size_t>(keep)) {
      size_t cut = jobs.size() - static_cast<size_t>(keep);
      std::vector<Job> invisible, rewrapped;
      for (size_t i = 0; i < cut; ++i) {
        if (!jobs[i].completed) invisible.push_back(jobs[i]);
      }
      std::vector<Job> wrapped(jobs.begin() + static_cast<std::ptrdiff_t>(cut), jobs.end());
      if (!invisible.empty()) {
        int l = static_cast<int>(invisible.size());
        for (Job& j : wrapped) {
          if (!j.completed || l <= 0) rewrapped.push_back(j);
          --l;
        }
        size_t free_space = wrapped.size() - rewrapped.size();
        wrapped.assign(invisible.end() - static_cast<std::ptrdiff_t>(free_space), invisible.end());
        wrapped.insert(wrapped.end(), rewrapped.begin(), rewrapped.end());
      }
      jobs = std::move(wrapped);
    }
  }

  std::string f;
  // Back to the frame's first line: one up per line drawn, and one for the header (the very
  // first frame goes down again, as BuildKit's does).
  for (size_t i = 0; i <= line_count_; ++i) f += "\x1b[1A";
  if (!repeated_) f += "\x1b[1B";
  repeated_ = true;
  f += "\x1b[0G";
  f += kHide;
  char buf[96];
  double elapsed = first_start_ ? Seconds(now - *first_start_) : 0;
  std::snprintf(buf, sizeof buf, "[+] Building %.1fs (%d/%d) %s", elapsed, completed, total,
                all && completed > 0 && completed == total ? "FINISHED" : "");
  f += Cut(Align(buf, "", width), static_cast<size_t>(width)) + "\n";
  size_t lines = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Job& j = jobs[i];
    double secs = j.secs < 0.05 ? 0 : j.secs;
    std::snprintf(buf, sizeof buf, " %3.1fs", secs);
    const std::string timer = std::string(buf) + "\n";
    const std::string prefix = " => ";
    int left = width - static_cast<int>(prefix.size() + timer.size()) - 1;
    if (left < 12) continue;  // too narrow to show anything useful
    std::string out = Align(prefix + Cut(j.name, static_cast<size_t>(left)), timer, width);
    f += j.completed && j.color ? j.color + out + kReset : out;
    ++lines;
    // The pane goes under the vertex's last line (its status lines, such as a cache miss,
    // stay next to its name).
    auto pane = rows.find(j.vertex);
    if (pane == rows.end() || (i + 1 < jobs.size() && jobs[i + 1].vertex == j.vertex)) continue;
    for (const std::string& row : pane->second) {
      if (Blank(row)) continue;
      std::string padded = row;
      padded.resize(std::max(row.size(), term_width), ' ');
      f += std::string(kFaint) + " => => # " + padded + "\n" + kReset;
      ++lines;
    }
  }
  // A shorter frame blanks the rest of the previous one and moves back up.
  if (line_count_ > lines) {
    size_t diff = line_count_ - lines;
    for (size_t i = 0; i < diff; ++i) f += std::string(static_cast<size_t>(width), ' ') + "\n";
    f += "\x1b[" + std::to_string(diff) + "A\x1b[0G";
  }
  line_count_ = lines;
  f += kShow;
  (void)out_.Write(f);  // a closed terminal is no reason to stop the build
}

Ticker::Ticker(std::chrono::milliseconds period, std::function<void()> tick)
    : thread_([this, period, tick = std::move(tick)] {
        std::unique_lock<std::mutex> l(mu_);
        while (!cv_.wait_for(l, period, [this] { return stop_; })) {
          l.unlock();
          tick();
          l.lock();
        }
      }) {}

Ticker::~Ticker() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace strata::cli
