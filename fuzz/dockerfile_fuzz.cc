// libFuzzer entry: the Dockerfile parser, typed-instruction parsing, the dump and the build planner
// must never crash or hang on any input, and must be deterministic; every error carries a message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "build/dockerfile/dump.h"
#include "build/dockerfile/instructions.h"
#include "build/dockerfile/parser.h"
#include "build/dockerfile/plan.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata::dockerfile;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  ParseError detail;
  auto parsed = Parse(text, &detail);
  if (!parsed) {
    Check(!detail.message.empty());
    Check(detail.end_line >= detail.line);
    return 0;
  }
  Check(!parsed->nodes.empty());
  int prev_end = 0;
  for (const Node& n : parsed->nodes) {
    Check(n.start_line > prev_end && n.end_line >= n.start_line);
    prev_end = n.end_line;
    // Each node parses on its own too (ONBUILD triggers are re-parsed this way).
    (void)ParseInstruction(n);
    for (const std::string& f : n.flags) Check(f.size() >= 2);
  }
  std::string nodes = DumpNodes(*parsed);

  auto df = ParseInstructions(*parsed, &detail);
  if (!df) {
    Check(!detail.message.empty());
    return 0;
  }
  std::string dump = Dump(*df);
  // Determinism: parsing the same text again gives the same dump.
  auto again = ParseDockerfile(text);
  Check(again.has_value() && Dump(*again) == dump);
  // Mount specs that parsed once parse again to the same mount.
  for (const Stage& st : df->stages) {
    for (const Instruction& ins : st.commands) {
      if (const auto* run = std::get_if<RunCommand>(&ins.command)) {
        for (const Mount& m : run->mounts) {
          auto m2 = ParseMount(m.spec);
          Check(m2.has_value() && *m2 == m);
        }
      }
    }
  }
  // The planner: default options, then each named stage as the target, with base images that
  // carry ONBUILD triggers taken from the file's own ONBUILD lines (so triggers get fuzzed too).
  std::vector<std::string> triggers;
  for (const Stage& st : df->stages) {
    for (const Instruction& ins : st.commands) {
      if (const auto* ob = std::get_if<OnbuildCommand>(&ins.command)) {
        triggers.push_back(ob->expression);
      }
    }
  }
  PlanOptions opts;
  opts.build_platform = Platform{"linux", "amd64", ""};
  opts.build_args = {{"A", "1"}, {"HTTP_PROXY", "p"}};
  opts.resolve_image = [&](const std::string& ref, const Platform& p) -> strata::Result<BaseImage> {
    BaseImage img;
    img.ref = ref;
    img.platform = p;
    img.config.on_build = triggers;
    img.config.working_dir = "rel";
    return img;
  };
  std::vector<std::string> targets = {""};
  for (const Stage& st : df->stages) {
    if (!st.From().stage_name.empty() && targets.size() < 4) {
      targets.push_back(st.From().stage_name);
    }
  }
  for (const std::string& t : targets) {
    opts.target = t;
    PlanError pe;
    auto plan = MakePlan(*df, opts, &pe);
    if (!plan) {
      Check(!plan.error().message.empty());
      continue;
    }
    Check(plan->target >= 0 && plan->target < static_cast<int>(plan->stages.size()));
    Check(plan->stages[plan->target].needed);
    for (int i : plan->order) Check(plan->stages[i].needed);
    std::string text1 = DumpPlan(*plan);
    auto again = MakePlan(*df, opts);
    Check(again.has_value() && DumpPlan(*again) == text1);
    auto cfg = ConfigFromJson(ConfigToJson(plan->stages[plan->target].config));
    Check(cfg.has_value());
  }
  return 0;
}
