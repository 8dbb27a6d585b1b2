// The TTY view of `strata build` (cli/build_progress.h): frames drawn from the engine's plain
// lines with a fake clock and terminal size, checked as bytes and as the screen a terminal
// shows; and end to end, the real binary under a pseudo-terminal (script(1)).
// Expected frames follow a recording of Docker 20.10's CLI (DOCKER_BUILDKIT=1 docker build
// --progress=tty under script, 100 columns): see the cases marked "docker:".
#include "cli/build_progress.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <thread>

#include "cli_helpers.h"

namespace strata::cli {
namespace {

using namespace std::chrono_literals;
using strata::testing::Slurp;
using TimePoint = TtyProgress::TimePoint;

// What a terminal shows after `out`: cursor up/down/column moves and overwrites, colours
// dropped, "\n" as a newline (the tty's onlcr). One string per row, trailing blanks trimmed;
// the rows above where drawing started are allowed (the first frame moves up and down).
std::vector<std::string> Screen(const std::string& out, size_t width) {
  std::vector<std::string> rows(1000);
  size_t r = 500, c = 0;
  bool wrap = false;
  for (size_t i = 0; i < out.size(); ++i) {
    char ch = out[i];
    if (ch == '\x1b' && i + 1 < out.size() && out[i + 1] == '[') {
      size_t j = i + 2;
      std::string arg;
      while (j < out.size() && (out[j] < 0x40 || out[j] > 0x7e)) arg += out[j++];
      char fin = j < out.size() ? out[j] : 0;
      i = j;
      size_t n = arg.empty() || arg[0] == '?' ? 1 : std::stoul(arg);
      if (fin == 'A') r -= n;
      if (fin == 'B') r += n;
      if (fin == 'G') c = n > 0 ? n - 1 : 0;
      wrap = false;
      continue;
    }
    if (ch == '\r' || ch == '\n') {
      if (ch == '\n') ++r;
      c = 0;
      wrap = false;
      continue;
    }
    if (wrap) {
      ++r;
      c = 0;
      wrap = false;
    }
    std::string& row = rows.at(r);
    if (row.size() <= c) row.resize(c + 1, ' ');
    row[c] = ch;
    if (c + 1 == width) {
      wrap = true;  // a terminal's pending wrap: only the next character moves down
    } else {
      ++c;
    }
  }
  for (auto& row : rows) {
    while (!row.empty() && row.back() == ' ') row.pop_back();
  }
  while (!rows.empty() && rows.back().empty()) rows.pop_back();
  size_t first = 0;
  while (first < rows.size() && rows[first].empty()) ++first;
  return {rows.begin() + static_cast<std::ptrdiff_t>(first), rows.end()};
}

// A vertex line of a `width`-column frame: " => text", the time ending in column width-1.
std::string Row(const std::string& text, const std::string& time, size_t width = 50) {
  std::string l = " => " + text;
  l.resize(width - 1 - time.size(), ' ');
  return l + time;
}

class BuildProgressTest : public ::testing::Test {
 protected:
  TtyProgress& View() {
    if (!view_) {
      view_.emplace(
          out_, [this] { return now_; }, [this] { return size_; });
    }
    return *view_;
  }
  void Feed(const std::vector<std::string>& lines) {
    for (const auto& l : lines) View().Line(l);
  }
  std::vector<std::string> Shown() { return Screen(out_.str(), static_cast<size_t>(size_.width)); }
  // The bytes written since the last call.
  std::string Take() {
    std::string s = out_.str().substr(taken_);
    taken_ = out_.str().size();
    return s;
  }

  StringWriter out_;
  TimePoint now_{};
  TtySize size_{50, 30};
  std::optional<TtyProgress> view_;
  size_t taken_ = 0;
};

// docker: the first frame moves up and down again, hides the cursor, pads the header to the
// full width, draws a running vertex uncoloured with its time ending one column short of the
// edge, and shows the cursor again.
TEST_F(BuildProgressTest, FirstFrameBytes) {
  size_ = {40, 20};
  Feed({"#1 [internal] load build definition from Dockerfile"});
  EXPECT_EQ(out_.str(),
            "\x1b[1A\x1b[1B\x1b[0G\x1b[?25l"
            "[+] Building 0.0s (0/1)                 \n"
            " => [internal] load build definit  0.0s\n"
            "\x1b[?25h");
}

// docker: a finished vertex and its status lines are blue, and the next frame first moves
// up over the previous one (one line more than it drew: the header).
TEST_F(BuildProgressTest, SecondFrameMovesUpAndColoursDoneLines) {
  size_ = {40, 20};
  Feed({"#1 [internal] load .dockerignore"});
  Take();
  now_ += 1s;
  Feed({"#1 transferring context: 2B done", "#1 DONE 0.0s"});
  std::string s = Take();
  // A second passed, so the status line drew a frame too; the last frame is what counts.
  std::string last = s.substr(s.rfind("\x1b[?25h\x1b[1A") + 6);
  EXPECT_EQ(last,
            "\x1b[1A\x1b[1A\x1b[1A\x1b[0G\x1b[?25l"
            "[+] Building 1.0s (1/1)                 \n"
            "\x1b[34m => [internal] load .dockerignore  0.0s\n\x1b[0m"
            "\x1b[34m => => transferring context: 2B    1.0s\n\x1b[0m"
            "\x1b[?25h");
}

// Header counts (done / seen), CACHED, DONE with the engine's time, ERROR and CANCELED,
// running times from the clock, right-aligned.
TEST_F(BuildProgressTest, VertexStatesAndCounts) {
  Feed({"#1 [internal] load build definition from Dockerfile",
        "#1 transferring dockerfile: 31B done", "#1 DONE 0.0s", "#2 [1/4] FROM docker.io/x",
        "#2 CACHED", "#3 [2/4] COPY . /app"});
  now_ += 2500ms;
  Feed({"#3 DONE 2.4s", "#4 [3/4] RUN make", "#5 [stage-1 2/2] RUN false"});
  now_ += 12300ms;
  Feed({"#5 ERROR: process \"/bin/sh -c false\" did not complete successfully: exit code: 1",
        "#6 [4/4] RUN sleep 9"});
  now_ += 100ms;
  Feed({"#6 CANCELED"});
  View().Tick();
  EXPECT_EQ(
      Shown(),
      (std::vector<std::string>{
          "[+] Building 14.9s (5/6)",
          Row("[internal] load build definition from Dockerfile", "0.0s").substr(0, 43) + "  0.0s",
          Row("=> transferring dockerfile: 31B", "0.0s"),
          Row("CACHED [1/4] FROM docker.io/x", "0.0s"),
          Row("[2/4] COPY . /app", "2.4s"),
          Row("[3/4] RUN make", "12.4s"),
          Row("ERROR [stage-1 2/2] RUN false", "12.3s"),
          Row("CANCELED [4/4] RUN sleep 9", "0.1s"),
      }));
  std::string s = out_.str();
  EXPECT_NE(s.find("\x1b[31m => ERROR [stage-1 2/2] RUN false"), std::string::npos);
  EXPECT_NE(s.find("\x1b[33m => CANCELED [4/4]"), std::string::npos);
  EXPECT_NE(s.find("\x1b[34m => CACHED [1/4]"), std::string::npos);
}

// docker: a name longer than the line is cut so that the time still fits; so is the header.
TEST_F(BuildProgressTest, LongLinesAreCut) {
  size_ = {30, 20};
  Feed({"#1 [2/2] RUN echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"});
  now_ += 1234ms;
  View().Tick();
  auto shown = Shown();
  ASSERT_EQ(shown.size(), 2u);
  EXPECT_EQ(shown[0], "[+] Building 1.2s (0/1)");
  EXPECT_EQ(shown[1], " => [2/2] RUN echo aaaa  1.2s");  // 19 = 30 - 11 characters of name
  for (const auto& l : shown) EXPECT_LT(l.size(), 30u);
}

// docker: under a running step its last 6 output rows, faint, " => => # " then the row padded
// to width - 10; they go when the step ends and the shorter frame blanks what is left.
TEST_F(BuildProgressTest, LastSixOutputRowsUnderARunningStep) {
  Feed({"#4 [3/4] RUN for i in 1 2 3 4 5 6 7 8 9 10; do echo line $i; done"});
  for (int i = 1; i <= 10; ++i)
    Feed({"#4 0.0" + std::to_string(i) + "0 line " + std::to_string(i)});
  now_ += 1s;
  View().Tick();
  auto shown = Shown();
  ASSERT_EQ(shown.size(), 8u);
  EXPECT_EQ(shown[1], Row("[3/4] RUN for i in 1 2 3 4 5 6 7 8 9 10", "1.0s"));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(shown[2 + i], " => => # line " + std::to_string(5 + i));
  std::string s = Take();
  EXPECT_NE(s.find("\x1b[2m => => # line 10" + std::string(40 - 7, ' ') + "\n\x1b[0m"),
            std::string::npos);
  Feed({"#4 DONE 1.0s"});
  EXPECT_EQ(Shown(), (std::vector<std::string>{
                         "[+] Building 1.0s (1/1)",
                         Row("[3/4] RUN for i in 1 2 3 4 5 6 7 8 9 10", "1.0s"),
                     }));
  // Six blank lines overwrite the rows, then the cursor goes back up.
  EXPECT_NE(Take().find(std::string(50, ' ') + "\n\x1b[6A\x1b[0G\x1b[?25h"), std::string::npos);
}

// A running step's status lines (strata's "cache miss: …") stay under its name, the output
// pane below them.
TEST_F(BuildProgressTest, OutputPaneFollowsTheStatusLines) {
  Feed({"#1 [1/1] RUN x", "#1 cache miss: not built before", "#1 0.100 hi"});
  View().Tick();
  EXPECT_EQ(Shown(), (std::vector<std::string>{
                         "[+] Building 0.0s (0/1)",
                         Row("[1/1] RUN x", "0.0s"),
                         Row("=> cache miss: not built before", "0.0s"),
                         " => => # hi",
                     }));
}

// docker: an output line longer than the pane (width - 10) wraps into rows, as in BuildKit's
// vt100 pane, and only the last 6 rows are shown; carriage returns and colours are undone.
TEST_F(BuildProgressTest, LongOutputRowsWrap) {
  size_ = {23, 30};  // a 13-column pane
  Feed({"#2 [1/1] RUN x", "#2 0.100 abcdefghijklmnopqrstuvwxyz",
        "#2 0.200 10%\r50%\r\x1b[1mdone\x1b[0m"});
  View().Tick();
  auto shown = Shown();
  EXPECT_EQ(std::vector<std::string>(shown.begin() + 2, shown.end()),
            (std::vector<std::string>{" => => # abcdefghijklm", " => => # nopqrstuvwxyz",
                                      " => => # done"}));
  // A line far longer than what is kept of it still wraps where the whole line would.
  std::string big(10000, 'x');
  big += "END";
  Feed({"#2 0.300 " + big});
  now_ += 1s;
  View().Tick();
  shown = Shown();
  ASSERT_EQ(shown.size(), 8u);
  EXPECT_EQ(shown[7], " => => # xxxEND");
  EXPECT_EQ(shown[2], " => => # " + std::string(13, 'x'));
}

// docker: when the frame is taller than the terminal the oldest lines scroll off; a running
// vertex that would scroll off takes the place of the first finished line still shown.
TEST_F(BuildProgressTest, OldestFinishedLinesScrollOff) {
  size_ = {50, 8};  // 6 lines under the header
  Feed({"#1 [1/9] RUN slow"});
  for (int i = 2; i <= 9; ++i) {
    Feed({"#" + std::to_string(i) + " [" + std::to_string(i) + "/9] RUN s" + std::to_string(i),
          "#" + std::to_string(i) + " DONE 0.1s"});
  }
  auto shown = Shown();
  EXPECT_EQ(shown, (std::vector<std::string>{
                       "[+] Building 0.0s (8/9)",
                       Row("[1/9] RUN slow", "0.0s"),
                       Row("[5/9] RUN s5", "0.1s"),
                       Row("[6/9] RUN s6", "0.1s"),
                       Row("[7/9] RUN s7", "0.1s"),
                       Row("[8/9] RUN s8", "0.1s"),
                       Row("[9/9] RUN s9", "0.1s"),
                   }));
  // The final frame keeps every line.
  Feed({"#1 DONE 0.5s"});
  View().Finish();
  shown = Shown();
  ASSERT_EQ(shown.size(), 10u);
  EXPECT_EQ(shown[0], "[+] Building 0.0s (9/9) FINISHED");
  EXPECT_EQ(shown[1], Row("[1/9] RUN slow", "0.5s"));
}

// Output panes need room: on a short terminal running steps show no output rows.
TEST_F(BuildProgressTest, NoOutputRowsWhenTheTerminalIsShort) {
  size_ = {50, 10};  // 10 - 2 - 1 running = 7 free lines, not more than 6 rows + 3
  Feed({"#1 [1/1] RUN x", "#1 0.100 hello"});
  EXPECT_EQ(Shown().size(), 2u);
  size_ = {50, 13};
  View().Tick();
  EXPECT_EQ(Shown().back(), " => => # hello");
}

// A chatty step redraws at most every 100 ms; starting and ending steps redraw at once.
TEST_F(BuildProgressTest, OutputRedrawsAreThrottled) {
  Feed({"#1 [1/1] RUN x"});
  Take();
  for (int i = 0; i < 50; ++i) Feed({"#1 0.001 spam"});
  EXPECT_EQ(Take(), "");
  now_ += 100ms;
  Feed({"#1 0.101 more"});
  EXPECT_NE(Take(), "");
  Feed({"#2 [2/2] COPY a b"});
  EXPECT_NE(Take(), "");
}

// docker: after a failure the final frame (FINISHED: every vertex ended), then each failed
// step's complete output as plain lines between "------" rulers. Cancelled steps are not
// listed, and a step that ended well keeps no log.
TEST_F(BuildProgressTest, FailureLogAfterTheFinalFrame) {
  Feed({"#1 [1/3] RUN ok", "#1 0.010 fine", "#1 DONE 0.1s", "#2 [2/3] RUN echo one; false"});
  for (int i = 0; i < 20; ++i) Feed({"#2 0.063 one " + std::to_string(i)});
  Feed({"#2 ERROR: process \"/bin/sh -c echo one; false\" did not complete successfully",
        "#3 [3/3] RUN sleep 5", "#3 0.001 zzz", "#3 CANCELED"});
  Take();
  View().Finish();
  std::string s = Take();
  std::string logs = "------\n > [2/3] RUN echo one; false:\n";
  for (int i = 0; i < 20; ++i) logs += "#2 0.063 one " + std::to_string(i) + "\n";
  logs += "------\n";
  ASSERT_GE(s.size(), logs.size());
  EXPECT_EQ(s.substr(s.size() - logs.size()), logs);
  EXPECT_NE(s.find("[+] Building 0.0s (3/3) FINISHED"), std::string::npos);
  // Later lines and ticks draw nothing.
  Feed({"#4 [x] late"});
  View().Tick();
  View().Finish();
  EXPECT_EQ(Take(), "");
}

// Ctrl-C may leave vertices without an end: the final frame shows them with their time so
// far, no output rows, no FINISHED, and the cursor visible.
TEST_F(BuildProgressTest, InterruptedBuildEndsWithACleanFrame) {
  Feed({"#1 [internal] load metadata for docker.io/library/bb", "#2 [1/1] RUN sleep 9",
        "#2 0.500 tick"});
  now_ += 2s;
  Feed({"#2 CANCELED"});
  now_ += 1s;
  View().Finish();
  auto shown = Shown();
  EXPECT_EQ(
      shown,
      (std::vector<std::string>{
          "[+] Building 3.0s (1/2)",
          Row("[internal] load metadata for docker.io/library/bb", "3.0s").substr(0, 43) + "  3.0s",
          Row("CANCELED [1/1] RUN sleep 9", "2.0s"),
      }));
  std::string s = out_.str();
  EXPECT_EQ(s.substr(s.size() - 6), "\x1b[?25h");
}

// Nothing is drawn before the engine's first vertex (docker draws on its first status).
TEST_F(BuildProgressTest, NoFrameBeforeTheFirstVertex) {
  View().Tick();
  View().Finish();
  EXPECT_EQ(out_.str(), "");
}

TEST_F(BuildProgressTest, TickerTicksUntilDestroyed) {
  std::atomic<int> n{0};
  {
    Ticker t(1ms, [&n] { ++n; });
    while (n.load() < 3) std::this_thread::sleep_for(1ms);
  }
  int after = n.load();
  std::this_thread::sleep_for(10ms);
  EXPECT_EQ(n.load(), after);
}

// --- end to end: the real binary under a pseudo-terminal ---------------------------------

bool CanBuild() {
  return ::geteuid() == 0 && ::access("/bin/busybox", X_OK) == 0 &&
         ::access("/usr/bin/script", X_OK) == 0 &&
         Slurp("/proc/filesystems").find("\toverlay\n") != std::string::npos;
}

class BuildProgressTtyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!CanBuild()) GTEST_SKIP() << "needs root, overlayfs, busybox-static and script(1)";
    auto r = env_.Run("import -c 'CMD [\"/bin/sh\"]' " + env_.BusyboxTar() + " bb");
    ASSERT_EQ(r.rc, 0) << r.err;
  }
  std::string Context(const std::string& name, const std::string& dockerfile) {
    std::string dir = env_.dir() + "/" + name;
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/Dockerfile") << dockerfile;
    return dir;
  }
  // `strata build <args>` with stderr on a 100x40 pseudo-terminal: what the terminal got.
  strata::testing::RunResult InTty(const std::string& args) {
    std::string cmd = "stty cols 100 rows 40; exec " + std::string(STRATA_BINARY) + " --root " +
                      env_.root() + " build " + args;
    return env_.Shell("script -qec " + strata::testing::ShellQuote(cmd) + " /dev/null");
  }
  strata::testing::StrataEnv env_;
};

TEST_F(BuildProgressTtyTest, FinalFrameShowsTheSteps) {
  std::string ctx = Context("ok", "FROM bb\nRUN echo hi > /f\nRUN cat /f\n");
  auto r = InTty("--progress=tty --network=none -t tty:1 " + ctx);
  ASSERT_EQ(r.rc, 0) << r.out;
  auto screen = Screen(r.out, 100);
  ASSERT_FALSE(screen.empty()) << r.out;
  std::string all;
  for (const auto& l : screen) all += l + "\n";
  EXPECT_NE(all.find("FINISHED"), std::string::npos) << all;
  EXPECT_NE(all.find(" => [2/3] RUN echo hi > /f"), std::string::npos) << all;
  EXPECT_NE(all.find(" => [3/3] RUN cat /f"), std::string::npos) << all;
  EXPECT_NE(all.find(" => exporting to image"), std::string::npos) << all;
  EXPECT_NE(all.find(" => => naming to docker.io/library/tty:1"), std::string::npos) << all;
  EXPECT_EQ(all.find("#1 "), std::string::npos) << all;  // no plain lines
  EXPECT_NE(r.out.find("\x1b[?25l"), std::string::npos);
  EXPECT_EQ(r.out.substr(r.out.rfind("\x1b[?25")), "\x1b[?25h");  // the cursor is back

  // A second build: cached steps; auto on a terminal is the TTY view too.
  r = InTty("--network=none -t tty:1 " + ctx);
  ASSERT_EQ(r.rc, 0) << r.out;
  all.clear();
  for (const auto& l : Screen(r.out, 100)) all += l + "\n";
  EXPECT_NE(all.find(" => CACHED [2/3] RUN echo hi > /f"), std::string::npos) << all;
}

TEST_F(BuildProgressTtyTest, FailureShowsTheStepLog) {
  std::string ctx = Context("bad", "FROM bb\nRUN echo one; echo two; false\n");
  auto r = InTty("--progress=tty --network=none " + ctx);
  EXPECT_EQ(r.rc, 1);
  std::string all;
  for (const auto& l : Screen(r.out, 100)) all += l + "\n";
  EXPECT_NE(all.find(" => ERROR [2/2] RUN echo one; echo two; false"), std::string::npos) << all;
  std::regex log(
      "\n------\n > \\[2/2\\] RUN echo one; echo two; false:\n#\\d+ \\d\\.\\d+ one\n"
      "#\\d+ \\d\\.\\d+ two\n------\nERROR: failed to solve: ");
  EXPECT_TRUE(std::regex_search(all, log)) << all;
  // The error line as the CLI prints it (the terminal wraps it at 100 columns).
  EXPECT_NE(r.out.find("------\r\nERROR: failed to solve: process \"/bin/sh -c echo one; echo two; "
                       "false\" did not complete successfully: exit code: 1\r\n"),
            std::string::npos)
      << r.out;
}

// Ctrl-C (typed on the terminal): the build is cancelled, the view ends with a final frame
// and the cursor shown again, then the CLI's error line.
TEST_F(BuildProgressTtyTest, CtrlCEndsWithACleanFrame) {
  std::string ctx = Context("intr", "FROM bb\nRUN echo start; sleep 60\n");
  // exec: strata must be the terminal's only foreground process. A shell left waiting for it
  // (dash, script's $SHELL when unset) dies of the SIGINT itself and script reports 130.
  std::string cmd = "stty cols 100 rows 40; exec " + std::string(STRATA_BINARY) + " --root " +
                    env_.root() + " build --progress=tty --network=none " + ctx;
  // script passes what it reads to the terminal, whose line discipline turns ^C into SIGINT.
  auto r = env_.Shell("(sleep 3; printf '\\003') | timeout 60 script -qec " +
                      strata::testing::ShellQuote(cmd) + " /dev/null");
  EXPECT_EQ(r.rc, 1) << r.out;
  std::string tail = "\x1b[?25hERROR: failed to solve: context canceled\r\n";
  ASSERT_GE(r.out.size(), tail.size()) << r.out;
  EXPECT_EQ(r.out.substr(r.out.size() - tail.size()), tail) << r.out;
  std::string all;
  for (const auto& l : Screen(r.out, 100)) all += l + "\n";
  EXPECT_NE(all.find(" => CANCELED [2/2] RUN echo start; sleep 60"), std::string::npos) << all;
}

// --progress=plain stays the plain lines on a terminal; auto is plain when stderr is not one.
TEST_F(BuildProgressTtyTest, PlainIsUnchanged) {
  std::string ctx = Context("plain", "FROM bb\nRUN echo hi\n");
  auto r = InTty("--progress=plain --network=none " + ctx);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("#1 [internal] load build definition from Dockerfile\r\n"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\r\n#\\d+ \\d\\.\\d{3} hi\r\n"))) << r.out;
  auto a = env_.Run("build --network=none " + ctx);
  ASSERT_EQ(a.rc, 0) << a.err;
  EXPECT_EQ(a.err.find('\x1b'), std::string::npos) << a.err;
  EXPECT_NE(a.err.find("#1 [internal] load build definition from Dockerfile\n"), std::string::npos)
      << a.err;
}

}  // namespace
}  // namespace strata::cli
