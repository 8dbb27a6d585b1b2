// Dockerfile text -> a list of instruction nodes, with BuildKit's parser semantics
// (frontend/dockerfile/parser): directives, continuations, heredocs, JSON detection, flags.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace strata::dockerfile {

// A here-document attached to a RUN, COPY or ADD line (`<<EOF`, `<<-EOF`, `<<"EOF"`).
struct Heredoc {
  std::string name;     // the delimiter word, quotes removed
  std::string content;  // the body as written, line endings kept, without the terminator
  bool expand = true;   // false when any part of the delimiter was quoted
  bool chomp = false;   // `<<-`: leading tabs are stripped from body lines and the terminator
  unsigned fd = 0;      // `3<<EOF` names a file descriptor; 0 when absent

  // The body as the build uses it: with leading tabs removed when chomp is set.
  std::string Data() const;
  bool operator==(const Heredoc&) const = default;
};

// One instruction line (after joining continuations), BuildKit's parser.Node flattened.
struct Node {
  std::string keyword;      // the instruction word as written ("Run")
  std::string instruction;  // lowercased ("run")
  std::string original;     // the joined line (continuation escapes removed, no heredoc bodies)
  int start_line = 0;       // 1-based, first line of the instruction
  int end_line = 0;         // last line, including heredoc bodies
  std::vector<std::string> flags;  // "--x=y" words split off the front, as written
  // Arguments as BuildKit's node structure holds them: the JSON array elements (json=true),
  // the single shell string (RUN/CMD/ENTRYPOINT/SHELL), whitespace-split words (FROM, EXPOSE,
  // COPY/ADD/VOLUME in shell form), quote-preserving words (ARG), key/value pairs flattened
  // to [k1, v1, k2, v2...] (ENV, LABEL), the type then the command (HEALTHCHECK).
  std::vector<std::string> args;
  bool json = false;                    // the arguments were a JSON array (exec form)
  std::vector<Heredoc> heredocs;        // in the order they appear on the line
  std::vector<std::string> comments;    // comment lines right before the instruction
  std::shared_ptr<const Node> trigger;  // ONBUILD's instruction, parsed as its own node
};

// A parser directive read from the top of the file (`# syntax=`, `# escape=`, `# check=`).
struct Directive {
  std::string name;  // lowercased
  std::string value;
  int line = 0;
  bool operator==(const Directive&) const = default;
};

// A non-fatal finding, worded as BuildKit words it.
struct Warning {
  std::string message;  // "Empty continuation line found in: RUN a b"
  std::string detail;   // "Empty continuation lines will become errors in a future release"
  std::string url;
  int line = 0;
};

struct ParseResult {
  std::vector<Node> nodes;
  std::vector<Directive> directives;
  char escape_token = '\\';
  std::vector<Warning> warnings;
};

// Where and why parsing failed: the bare message with its lines, so that front ends can write
// "Dockerfile:7: unknown instruction: RUNN" or BuildKit's "dockerfile parse error on line 7: ...".
struct ParseError {
  int line = 0;      // 0 when the error has no location (e.g. an empty file)
  int end_line = 0;  // equal to line for single-line errors
  std::string message;
};

// Formats BuildKit's text: "dockerfile parse error on line N: message" (or message when N=0).
std::string FormatParseError(const ParseError& e);

// Parses a whole Dockerfile. On failure the Error (kInvalidArgument) carries
// FormatParseError's text, and *error_detail (when given) the parts.
Result<ParseResult> Parse(std::string_view text, ParseError* error_detail = nullptr);

// Parses a single instruction line (no continuations, no heredoc bodies), the way BuildKit
// parses an ONBUILD trigger when it runs in a child build. escape_token is '\\' or '`'.
Result<Node> ParseLine(std::string_view line, char escape_token = '\\');

// If `word` is a heredoc marker (`<<EOF`, `<<-'EOF'`, `2<<EOF`), describes it (content empty).
// Returns nullptr-like empty optional via has_name=false when it is not one.
bool ParseHeredocMarker(std::string_view word, Heredoc* out);

}  // namespace strata::dockerfile
