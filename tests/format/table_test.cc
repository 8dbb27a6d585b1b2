#include "format/table.h"

#include <gtest/gtest.h>

#include <string>

namespace strata::format {
namespace {

const Json kImagesHeader = {{"Repository", "REPOSITORY"},
                            {"Tag", "TAG"},
                            {"ID", "IMAGE ID"},
                            {"CreatedSince", "CREATED"},
                            {"Size", "SIZE"}};
// docker images' default, as typed on a command line (backslash-t sequences).
constexpr const char* kImagesFormat =
    "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}";

Json Row(const char* repo, const char* tag, const char* id, const char* created, const char* size) {
  return {
      {"Repository", repo}, {"Tag", tag}, {"ID", id}, {"CreatedSince", created}, {"Size", size}};
}

TEST(TableTest, DockerImagesHeaderOnly) {
  auto out = RenderRows(kImagesFormat, kImagesHeader, {});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(*out, "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n");
}

TEST(TableTest, DockerImagesRowsAlign) {
  std::vector<Json> rows = {
      Row("alpine", "latest", "1234567890ab", "2 weeks ago", "7.8MB"),
      Row("registry.example.com/team/app", "v1.2.3", "abcdef012345", "3 months ago", "123MB")};
  auto out = RenderRows(kImagesFormat, kImagesHeader, rows);
  ASSERT_TRUE(out) << out.error().message;
  // Column widths: max(minwidth 10, widest cell + padding 3); the last column is not padded.
  EXPECT_EQ(*out,
            "REPOSITORY                      TAG       IMAGE ID       CREATED        SIZE\n"
            "alpine                          latest    1234567890ab   2 weeks ago    7.8MB\n"
            "registry.example.com/team/app   v1.2.3    abcdef012345   3 months ago   123MB\n");
}

TEST(TableTest, SingleRowMatchesDockerOutput) {
  auto out = RenderRows(kImagesFormat, kImagesHeader,
                        {Row("alpine", "latest", "1234567890ab", "2 weeks ago", "7.8MB")});
  ASSERT_TRUE(out);
  EXPECT_EQ(*out,
            "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n"
            "alpine       latest    1234567890ab   2 weeks ago   7.8MB\n");
}

TEST(TableTest, RealTabsWorkToo) {
  auto a = RenderRows("table {{.Repository}}\t{{.Tag}}", kImagesHeader,
                      {Row("alpine", "3.19", "x", "y", "z")});
  auto b = RenderRows("table {{.Repository}}\\t{{.Tag}}", kImagesHeader,
                      {Row("alpine", "3.19", "x", "y", "z")});
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*a, "REPOSITORY   TAG\nalpine       3.19\n");
}

TEST(TableTest, TableWordAloneUsesDefault) {
  const char* def = "table {{.ID}}\\t{{.Size}}";
  std::vector<Json> rows = {Row("a", "b", "0123456789ab", "c", "5MB")};
  for (const char* f : {"table", ""}) {
    auto out = RenderRows(f, kImagesHeader, rows, def);
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_EQ(*out, "IMAGE ID       SIZE\n0123456789ab   5MB\n") << f;
  }
}

TEST(TableTest, SingleColumnIsNotPadded) {
  auto out = RenderRows("table {{.ID}}", kImagesHeader, {Row("a", "b", "0123456789ab", "c", "d")});
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "IMAGE ID\n0123456789ab\n");
}

TEST(TableTest, HeaderUsesHeaderFunctions) {
  auto out = RenderRows("table {{lower .Repository}}\\t{{json .Tag}}", kImagesHeader,
                        {Row("ALPINE", "latest", "", "", "")});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(*out, "REPOSITORY   TAG\nalpine       \"latest\"\n");
}

TEST(TableTest, MissingHeaderKeyPrintsNoValue) {
  auto out = RenderRows("table {{.Repository}}\\t{{.Nope}}", kImagesHeader,
                        {Row("alpine", "", "", "", "")});
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "REPOSITORY   <no value>\nalpine       <no value>\n");
}

TEST(TableTest, JsonFormatOneObjectPerLine) {
  std::vector<Json> rows = {{{"ID", "a"}, {"Size", 1}}, {{"ID", "<b>"}, {"Size", 2.5}}};
  auto out = RenderRows("json", kImagesHeader, rows);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "{\"ID\":\"a\",\"Size\":1}\n{\"ID\":\"<b>\",\"Size\":2.5}\n");
}

TEST(TableTest, PlainTemplateHasNoHeader) {
  std::vector<Json> rows = {Row("alpine", "latest", "", "", ""),
                            Row("busybox", "1.36", "", "", "")};
  auto out = RenderRows("{{.Repository}}:{{.Tag}}", kImagesHeader, rows);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "alpine:latest\nbusybox:1.36\n");
  // Tabs in a plain format are not aligned.
  out = RenderRows("  {{.Repository}}\\t{{.Tag}}  ", kImagesHeader, rows);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "alpine\tlatest\nbusybox\t1.36\n");
}

TEST(TableTest, ErrorsCarryDockerPrefix) {
  auto out = RenderRows("table {{.Repository", kImagesHeader, {});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().message, "template parsing error: template: :1: unclosed action");
  out = RenderRows("{{.Repository.X}}", kImagesHeader, {Row("alpine", "", "", "", "")});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().message,
            "template parsing error: template: :1:13: executing \"\" at <.Repository.X>: can't "
            "evaluate field X in type string");
}

TEST(TableTest, ExpandEscapes) {
  EXPECT_EQ(ExpandEscapes("a\\tb\\nc"), "a\tb\nc");
  EXPECT_EQ(ExpandEscapes("a\\xb\\"), "a\\xb\\");
  EXPECT_EQ(ExpandEscapes("{{.A}}\\t{{.B}}"), "{{.A}}\t{{.B}}");
}

TEST(TableTest, AlignTableUsesDockerSettings) {
  EXPECT_EQ(AlignTable("A\tB\nlonger-value\tx\n"), "A              B\nlonger-value   x\n");
}

// String rows must print exactly what one JSON object per row prints, whichever path the
// template takes (plain fields are rendered from the cells, anything else through JSON).
TEST(TableTest, StringRowsMatchJsonRows) {
  StringRows srows({"CreatedSince", "ID", "Repository", "Size", "Tag"});
  std::vector<Json> jrows;
  std::string_view shared = srows.Keep("2 weeks ago");
  srows.Add({shared, "1234567890ab", "alpine", "7.8MB", "latest"});
  jrows.push_back(Row("alpine", "latest", "1234567890ab", "2 weeks ago", "7.8MB"));
  srows.Add(
      {shared, "abcdef012345", srows.Keep("registry.example.com/team/app"), "123MB", "<none>"});
  jrows.push_back(
      Row("registry.example.com/team/app", "<none>", "abcdef012345", "2 weeks ago", "123MB"));
  ASSERT_EQ(srows.size(), 2u);
  EXPECT_EQ(srows.RowJson(1), jrows[1]);
  ExecuteOptions typed;
  typed.root_type = "*formatter.imageContext";
  for (std::string format : {"", "table", kImagesFormat, "json", "{{.Repository}}:{{.Tag}}",
                             "{{.ID}}", "table {{.ID}}\\t{{upper .Repository}}", "{{json .}}",
                             "{{.Repository}} {{if .Tag}}x{{end}}", "plain text", "table {{.Nope}}",
                             "{{.Repository.X}}", "{{.ID}} {{.Missing}}", "table {{.Repository",
                             "{{$x := .ID}}{{$x}}", "{{ .ID }}|{{.Size}}\\n"}) {
    SCOPED_TRACE(format);
    for (const ExecuteOptions& opts : {ExecuteOptions{}, typed}) {
      auto want = RenderRows(format, kImagesHeader, jrows, kImagesFormat, opts);
      auto got = RenderStringRows(format, kImagesHeader, srows, kImagesFormat, opts);
      ASSERT_EQ(want.has_value(), got.has_value());
      if (want) {
        EXPECT_EQ(*got, *want);
      } else {
        EXPECT_EQ(got.error().message, want.error().message);
      }
    }
  }
  auto out = RenderStringRows("", kImagesHeader, srows, kImagesFormat);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out,
            "REPOSITORY                      TAG       IMAGE ID       CREATED       SIZE\n"
            "alpine                          latest    1234567890ab   2 weeks ago   7.8MB\n"
            "registry.example.com/team/app   <none>    abcdef012345   2 weeks ago   123MB\n");
}

TEST(TableTest, StringRowsUnknownFieldIsDockersError) {
  StringRows rows({"ID"});
  rows.Add({"abc"});
  ExecuteOptions typed;
  typed.root_type = "*formatter.imageContext";
  auto out = RenderStringRows("{{.Nope}}", kImagesHeader, rows, "", typed);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().message,
            "template parsing error: template: :1:2: executing \"\" at <.Nope>: can't evaluate "
            "field Nope in type *formatter.imageContext");
}

TEST(TableTest, StringRowsShortRowIsPaddedWithEmptyCells) {
  StringRows rows({"A", "B"});
  rows.Add({"x"});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows.Get(0, 1), "");
  auto out = RenderStringRows("{{.A}}-{{.B}}.", Json::object(), rows);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "x-.\n");
}

}  // namespace
}  // namespace strata::format
