// Unit tests of typed instructions: flags, RUN --mount, stages and the error details.
// Messages are BuildKit's (instructions/parse.go, bflag.go, commands_runmount.go).
#include "build/dockerfile/instructions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "build/dockerfile/suggest.h"

namespace strata::dockerfile {
namespace {

using ::testing::ElementsAre;

Instruction One(std::string_view line) {
  auto n = ParseLine(line);
  EXPECT_TRUE(n.has_value());
  auto ins = ParseInstruction(*n);
  EXPECT_TRUE(ins.has_value()) << (ins ? "" : ins.error().message);
  return ins ? *ins : Instruction{};
}

std::string ErrorOf(std::string_view line) {
  auto n = ParseLine(line);
  if (!n) return "parse: " + n.error().message;
  ParseError d;
  auto ins = ParseInstruction(*n, &d);
  if (ins) return "ok";
  return d.message;
}

TEST(Flags, StringsFlagCollectsEveryValue) {
  auto ins = One("COPY --exclude=a --exclude=b/** src /dst");
  const auto& c = std::get<CopyCommand>(ins.command);
  EXPECT_THAT(c.excludes, ElementsAre("a", "b/**"));
  EXPECT_THAT(c.files.source_paths, ElementsAre("src"));
  EXPECT_EQ(c.files.dest, "/dst");
}

TEST(Flags, BoolForms) {
  EXPECT_TRUE(std::get<CopyCommand>(One("COPY --link a b").command).link);
  EXPECT_TRUE(std::get<CopyCommand>(One("COPY --link=TRUE a b").command).link);
  EXPECT_FALSE(std::get<CopyCommand>(One("COPY --link=false a b").command).link);
  EXPECT_EQ(ErrorOf("COPY --link= a b"), "missing a value on flag: --link");
  EXPECT_EQ(ErrorOf("COPY --link=1 a b"), "expecting boolean value for flag --link, not: 1");
}

TEST(Flags, ErrorsNameTheFlag) {
  EXPECT_EQ(ErrorOf("ADD --from=x a b"), "unknown flag: --from");
  EXPECT_EQ(ErrorOf("ADD --parents a b"), "unknown flag: --parents");
  EXPECT_EQ(ErrorOf("COPY --parent a b"), "unknown flag: --parent (did you mean parents?)");
  EXPECT_EQ(ErrorOf("COPY --from=a --from=b x y"), "duplicate flag specified: --from");
  EXPECT_EQ(ErrorOf("FROM --platform x"), "missing a value on flag: --platform");
  EXPECT_EQ(ErrorOf("USER --x=1 me"), "unknown flag: --x");
}

TEST(Suggest, LikeBuildKit) {
  EXPECT_EQ(WithSuggestion("e", "RUNN", {"RUN", "ENV"}, false), "e (did you mean RUN?)");
  EXPECT_EQ(WithSuggestion("e", "runn", {"RUN", "ENV"}, false), "e (did you mean run?)");
  EXPECT_EQ(WithSuggestion("e", "Runn", {"RUN", "ENV"}, false), "e (did you mean run?)");
  EXPECT_EQ(WithSuggestion("e", "xyzzy", {"RUN", "ENV"}, false), "e");
  EXPECT_EQ(WithSuggestion("e", "run", {"RUN"}, false), "e");
}

TEST(Run, MountsNetworkSecurity) {
  auto ins =
      One("RUN --mount=type=cache,target=/c,sharing=LOCKED --mount=type=secret,id=s,env=TOKEN "
          "--network=none --security=insecure make");
  const auto& r = std::get<RunCommand>(ins.command);
  ASSERT_EQ(r.mounts.size(), 2u);
  EXPECT_EQ(r.mounts[0].type, MountType::kCache);
  EXPECT_EQ(r.mounts[0].target, "/c");
  EXPECT_EQ(r.mounts[0].sharing, "locked");
  EXPECT_FALSE(r.mounts[0].read_only);
  EXPECT_EQ(r.mounts[1].type, MountType::kSecret);
  EXPECT_EQ(r.mounts[1].cache_id, "s");
  EXPECT_EQ(r.mounts[1].env, "TOKEN");
  EXPECT_TRUE(r.mounts[1].read_only);
  EXPECT_EQ(r.network, "none");
  EXPECT_EQ(r.security, "insecure");
  EXPECT_THAT(r.flags_used, ElementsAre("mount", "network", "security"));
  EXPECT_THAT(r.cmdline.args, ElementsAre("make"));
  EXPECT_TRUE(r.cmdline.prepend_shell);
  EXPECT_FALSE(ins.expands);
}

TEST(Mount, KeysAreOrderDependentLikeBuildKit) {
  // size= is checked against the type seen so far: before type=tmpfs it is still a bind.
  EXPECT_EQ(ParseMount("size=1m,type=tmpfs,target=/t").error().message,
            "unexpected key 'size' for mount type 'bind'");
  auto m = ParseMount("type=tmpfs,target=/t,size=1m");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->size_limit, 1 << 20);
}

TEST(Mount, ValidationMessages) {
  EXPECT_EQ(ParseMount("type=secret").error().message,
            "invalid secret mount. one of source, target required");
  EXPECT_EQ(ParseMount("type=secret,source=a,id=b").error().message,
            "both source and id can't be set");
  EXPECT_EQ(ParseMount("type=tmpfs,target=/x,uid=1").error().message,
            "uid not allowed for \"tmpfs\" type mounts");
  EXPECT_EQ(ParseMount("type=cache,target=/x,mode=999").error().message,
            "invalid value 999 for mode");
  EXPECT_EQ(ParseMount("target=/x,ro=maybe").error().message, "invalid value for ro: maybe");
  EXPECT_EQ(ParseMount("type=bind,target=/x,env=A").error().message,
            "unexpected key 'env' for mount type 'bind'");
  EXPECT_THAT(ParseMount("\"target=/x").error().message,
              ::testing::StartsWith("failed to parse csv mounts: parse error on line 1, column "));
  // Checked against docker 20.10 (golden case run-mount-csv-bare-quote has the same shape).
  EXPECT_EQ(ParseMount("type=cache,target=/x\"y").error().message,
            "failed to parse csv mounts: parse error on line 1, column 21: bare \" in "
            "non-quoted-field");
}

TEST(Mount, CsvQuotedFieldsMayHoldCommas) {
  auto m = ParseMount("type=bind,\"target=/a,b\",readwrite");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->target, "/a,b");
  EXPECT_FALSE(m->read_only);
}

TEST(Mount, ExpanderResolvesDeferredFields) {
  auto deferred = ParseMount("type=cache,target=$T,uid=$U");
  ASSERT_TRUE(deferred.has_value());
  EXPECT_EQ(deferred->target, "");
  EXPECT_FALSE(deferred->uid.has_value());
  WordExpander expand = [](std::string_view w) -> Result<std::string> {
    std::string s(w);
    if (s == "$T") return std::string("/cache");
    if (s == "$U") return std::string("1000");
    return s;
  };
  auto m = ParseMount(deferred->spec, &expand);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->target, "/cache");
  EXPECT_EQ(m->uid, 1000u);
  WordExpander bad = [](std::string_view w) -> Result<std::string> {
    return std::string(w == "$U" ? "x" : w);
  };
  EXPECT_EQ(ParseMount("type=cache,target=/c,uid=$U", &bad).error().message,
            "invalid value x for uid");
}

TEST(Instructions, ExpandsFlagFollowsBuildKit) {
  EXPECT_TRUE(One("ENV a=b").expands);
  EXPECT_TRUE(One("COPY a b").expands);
  EXPECT_TRUE(One("WORKDIR /x").expands);
  EXPECT_TRUE(One("FROM x").expands);
  EXPECT_FALSE(One("CMD x").expands);
  EXPECT_FALSE(One("ENTRYPOINT x").expands);
  EXPECT_FALSE(One("SHELL [\"a\"]").expands);
  EXPECT_FALSE(One("HEALTHCHECK CMD x").expands);
  EXPECT_FALSE(One("ONBUILD RUN x").expands);
  EXPECT_FALSE(One("MAINTAINER x").expands);
}

TEST(Instructions, HeredocSourcesBecomeInlineContent) {
  auto r = Parse("FROM x\nCOPY a <<-\"F\" <<G /d/\n\tbody $x\n\tF\ng\nG\n");
  ASSERT_TRUE(r.has_value());
  auto ins = ParseInstruction(r->nodes[1]);
  ASSERT_TRUE(ins.has_value());
  const auto& c = std::get<CopyCommand>(ins->command);
  EXPECT_THAT(c.files.source_paths, ElementsAre("a"));
  ASSERT_EQ(c.files.source_contents.size(), 2u);
  EXPECT_EQ(c.files.source_contents[0], (SourceContent{"F", "body $x\n", false}));
  EXPECT_EQ(c.files.source_contents[1], (SourceContent{"G", "g\n", true}));
}

TEST(Instructions, HealthcheckDurations) {
  auto ins =
      One("HEALTHCHECK --interval=5m --timeout=3s --start-period=1s --retries=2 CMD [\"a\"]");
  const auto& h = std::get<HealthcheckCommand>(ins.command);
  EXPECT_THAT(h.test, ElementsAre("CMD", "a"));
  EXPECT_EQ(h.interval_ns, 300000000000);
  EXPECT_EQ(h.timeout_ns, 3000000000);
  EXPECT_EQ(h.start_period_ns, 1000000000);
  EXPECT_EQ(h.retries, 2);
  EXPECT_EQ(ErrorOf("HEALTHCHECK --timeout=-1s CMD a"),
            "Interval \"timeout\" cannot be less than 1ms");
  EXPECT_EQ(ErrorOf("HEALTHCHECK --retries=99999999999 CMD a"),
            "strconv.ParseInt: parsing \"99999999999\": value out of range");
}

TEST(Instructions, OnbuildExpressionAndTrigger) {
  auto ins = One("  onbuild   COPY --from=x a b");
  const auto& o = std::get<OnbuildCommand>(ins.command);
  EXPECT_EQ(o.expression, "COPY --from=x a b");
  ASSERT_TRUE(o.trigger);
  EXPECT_EQ(o.trigger->instruction, "copy");
  EXPECT_THAT(o.trigger->flags, ElementsAre("--from=x"));
  EXPECT_EQ(ErrorOf("ONBUILD from x"), "FROM isn't allowed as an ONBUILD trigger");
}

TEST(Instructions, EntrypointAndCmdForms) {
  auto e = std::get<EntrypointCommand>(One("ENTRYPOINT []").command);
  EXPECT_TRUE(e.cmdline.args.empty());
  EXPECT_FALSE(e.cmdline.prepend_shell);
  auto c = std::get<CmdCommand>(One("CMD echo  \"a\"").command);
  EXPECT_THAT(c.cmdline.args, ElementsAre("echo  \"a\""));
  EXPECT_TRUE(c.cmdline.prepend_shell);
}

TEST(Dockerfile, StagesAndMetaArgs) {
  auto df = ParseDockerfile("ARG A\nARG B=1\nFROM x AS one\nRUN a\nFROM one\nCMD b\n");
  ASSERT_TRUE(df.has_value());
  ASSERT_EQ(df->meta_args.size(), 2u);
  ASSERT_EQ(df->stages.size(), 2u);
  EXPECT_EQ(df->stages[0].From().stage_name, "one");
  EXPECT_EQ(df->stages[0].commands.size(), 1u);
  EXPECT_EQ(df->stages[1].From().base_name, "one");
  EXPECT_EQ(df->stages[1].commands[0].name, "CMD");
}

TEST(Dockerfile, ErrorsCarryLines) {
  ParseError d;
  auto df = ParseDockerfile("FROM x\n\nRUN ok\nRUNN \\\n  x\n", &d);
  ASSERT_FALSE(df.has_value());
  EXPECT_EQ(d.line, 4);
  EXPECT_EQ(d.end_line, 5);
  EXPECT_EQ(d.message, "unknown instruction: RUNN (did you mean RUN?)");
  EXPECT_EQ(df.error().message,
            "dockerfile parse error on line 4: unknown instruction: RUNN (did you mean RUN?)");
  ASSERT_FALSE(ParseDockerfile("ARG a\n", &d).has_value());
  EXPECT_EQ(d.message, "dockerfile contains no stages to build");
  ASSERT_FALSE(ParseDockerfile("LABEL a=b\nFROM x\n", &d).has_value());
  EXPECT_EQ(d.line, 1);
  EXPECT_EQ(d.message, "no build stage in current context");
}

}  // namespace
}  // namespace strata::dockerfile
