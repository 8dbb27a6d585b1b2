// Stable, readable text of parsed Dockerfiles: what `strata dockerfile parse FILE` prints and
// what the golden tests compare. Strings are Go-quoted so that every byte is visible.
#pragma once

#include <string>

#include "build/dockerfile/instructions.h"
#include "build/dockerfile/parser.h"

namespace strata::dockerfile {

// One block per instruction: "L<start>[-<end>] NAME", then indented fields (flags, args,
// heredocs); stage headers before each FROM; directives and warnings first.
std::string Dump(const Dockerfile& df);

// One instruction as Dump writes it: "L<start>[-<end>] NAME", then its fields indented by two.
std::string DumpInstruction(const Instruction& ins);

// The parser's nodes, one per line, like BuildKit's Node.Dump:
// `L3 run ["--mount=type=cache,target=/x"] "make"`.
std::string DumpNodes(const ParseResult& parsed);

}  // namespace strata::dockerfile
