// Parse + plan of a generated 5,000-line Dockerfile (issue 4 requires < 20 ms): several stages,
// global and stage ARGs, ENV/LABEL/EXPOSE/WORKDIR expansion, COPY --from, RUN --mount,
// continuation lines and heredoc-free shell RUNs, so every planner path is on the clock.
#include <benchmark/benchmark.h>

#include <string>

#include "build/dockerfile/instructions.h"
#include "build/dockerfile/plan.h"

namespace {

using namespace strata::dockerfile;

std::string Generate(int target_lines) {
  std::string s = "# syntax=docker/dockerfile:1\nARG BASE=busybox\nARG VERSION=1.2.3\n";
  int lines = 3;
  int stage = 0;
  while (lines < target_lines) {
    std::string name = "stage" + std::to_string(stage);
    s += "FROM ${BASE} AS " + name + "\n";
    s += "ARG VERSION\nARG OPT=" + std::to_string(stage) + "\n";
    s += "ENV APP_HOME=/opt/app" + std::to_string(stage) + " VERSION=${VERSION}\n";
    s += "WORKDIR $APP_HOME\n";
    lines += 5;
    for (int i = 0; i < 120 && lines < target_lines; ++i) {
      switch (i % 8) {
        case 0:
          s += "RUN echo building $VERSION step " + std::to_string(i) +
               " && \\\n    mkdir -p /out/" + std::to_string(i) + "\n";
          lines += 2;
          break;
        case 1:
          s += "ENV STEP_" + std::to_string(i) + "=${APP_HOME}/step-" + std::to_string(i) +
               " PREV=${STEP_" + std::to_string(i - 1) + ":-none}\n";
          ++lines;
          break;
        case 2:
          s += "LABEL org.example.step" + std::to_string(i) + "=\"${VERSION}-" + std::to_string(i) +
               "\"\n";
          ++lines;
          break;
        case 3:
          s += "COPY --chown=1000:1000 src/file-" + std::to_string(i) + ".txt ${APP_HOME}/\n";
          ++lines;
          break;
        case 4:
          s += "RUN --mount=type=cache,target=/root/.cache/${OPT} make -C $APP_HOME target" +
               std::to_string(i) + "\n";
          ++lines;
          break;
        case 5:
          s += "EXPOSE " + std::to_string(8000 + i) + "/tcp " + std::to_string(9000 + i) + "/udp\n";
          ++lines;
          break;
        case 6:
          if (stage > 0) {
            s += "COPY --from=stage" + std::to_string(stage - 1) + " /out/ /in/" +
                 std::to_string(i) + "/\n";
          } else {
            s += "USER 1000:1000\n";
          }
          ++lines;
          break;
        case 7:
          s += "WORKDIR sub" + std::to_string(i) + "\n";
          ++lines;
          break;
      }
    }
    ++stage;
  }
  s += "CMD [\"/bin/sh\"]\n";
  return s;
}

const std::string& Text() {
  static const std::string text = Generate(5000);
  return text;
}

PlanOptions Options() {
  PlanOptions o;
  o.build_platform = Platform{"linux", "amd64", ""};
  o.build_args = {{"VERSION", "2.0.0"}};
  return o;
}

void BM_ParsePlan5000(benchmark::State& state) {
  const std::string& text = Text();
  PlanOptions opts = Options();
  for (auto _ : state) {
    auto plan = PlanDockerfile(text, opts);
    if (!plan) state.SkipWithError(plan.error().message.c_str());
    benchmark::DoNotOptimize(plan);
  }
  state.counters["lines"] = 5000;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_ParsePlan5000)->Unit(benchmark::kMillisecond);

void BM_ParseOnly5000(benchmark::State& state) {
  const std::string& text = Text();
  for (auto _ : state) {
    auto df = ParseDockerfile(text);
    if (!df) state.SkipWithError(df.error().message.c_str());
    benchmark::DoNotOptimize(df);
  }
}
BENCHMARK(BM_ParseOnly5000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
