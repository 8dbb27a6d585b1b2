// The live terminal view of `strata build --progress=tty` (and auto on a terminal), drawn
// as BuildKit's docker CLI draws it (buildkit util/progress/progressui, "tty" mode).
//
// The engine speaks only in plain progress lines ("#5 [2/3] RUN make", "#5 0.123 out",
// "#5 DONE 0.4s", see engine/build.h); TtyProgress folds them back into vertices and draws a
// frame that overwrites the previous one in place:
//
//   [+] Building 3.2s (5/9)
//    => CACHED [1/3] FROM docker.io/library/bb                                 0.0s
//    => [2/3] RUN make                                                         1.2s
//    => => # the last 6 rows of the running step's output
//
// Lifecycle: construct, feed Line() from the engine's output callback, let a Ticker call
// Tick() about ten times a second so running times move, then Finish() once: the final frame
// (every vertex) stays on screen, followed by the complete output of each failed step.
// Memory stays bounded: a vertex keeps its last few output lines for the screen; the full log
// is kept only while it runs (a failure must print it) and dropped when it ends well.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "util/io.h"

namespace strata::cli {

struct TtySize {
  int width = 80;
  int height = 10;  // BuildKit's default when the size is unknown
};

// The size of the terminal on fd (TIOCGWINSZ); the defaults when fd is not a terminal.
TtySize TerminalSize(int fd);

class TtyProgress {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Clock = std::function<TimePoint()>;
  using SizeFn = std::function<TtySize()>;

  // Frames go to out; clock and size are asked at every frame (the terminal may be resized).
  TtyProgress(Writer& out, Clock clock, SizeFn size);

  // One progress line from the engine. A vertex starting or ending redraws at once; output
  // and status lines redraw at most every kMinRedraw (a chatty RUN must not flood the tty).
  void Line(const std::string& line);
  // A timed redraw, so that running vertices' times advance.
  void Tick();
  // The final frame with every vertex, then the failed steps' logs. Later calls do nothing.
  void Finish();

  static constexpr std::chrono::milliseconds kMinRedraw{100};
  static constexpr size_t kLogRows = 6;  // output rows shown under a running vertex

 private:
  enum class State { kRunning, kDone, kCached, kError, kCanceled };  // indexes kLook in .cc
  // A sub-line such as "transferring dockerfile: 31B": it took from the vertex's previous
  // event to its own line (the engine reports statuses once, when they are done).
  struct SubStatus {
    std::string name;
    double secs = 0;
  };
  // The end of one output line: only enough to draw its last rows. `skipped` counts the
  // characters dropped from its front, so rows still wrap where the whole line would.
  struct TailLine {
    std::string text;
    size_t skipped = 0;
  };
  struct Vertex {
    std::string name;
    State state = State::kRunning;
    TimePoint start, stop, last_event;
    std::optional<double> reported;  // "DONE 0.4s": the engine's own measure
    std::vector<SubStatus> statuses;
    std::deque<TailLine> tail;     // the last kLogRows output lines, cleaned for the screen
    std::vector<std::string> log;  // every output line as printed plainly, while running
  };
  struct Job;  // one line of the frame

  void Apply(const std::string& line, TimePoint now, bool* changed);
  void AddOutput(Vertex& v, const std::string& raw, const std::string& text);
  void Draw(TimePoint now, bool all);
  std::vector<std::string> Rows(const Vertex& v, size_t width) const;

  Writer& out_;
  Clock clock_;
  SizeFn size_;
  std::mutex mu_;
  std::vector<Vertex> vertices_;  // in order of appearance
  std::map<int, size_t> by_id_;
  std::optional<TimePoint> first_start_;
  std::optional<TimePoint> last_draw_;
  size_t line_count_ = 0;  // lines under the header in the previous frame
  bool repeated_ = false;  // a frame has been drawn
  bool finished_ = false;
};

// Calls tick every period on its own thread until destroyed (then joined).
class Ticker {
 public:
  Ticker(std::chrono::milliseconds period, std::function<void()> tick);
  ~Ticker();
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace strata::cli
