#!/usr/bin/env python3
"""Writes the deterministic build context of bench/build.sh: 10,000 files, ~100 MB.

Usage: make_build_context.py DIR [SEED]

Layout: 50 top-level folders d00..d49, each with 120 files f0000..f0119 directly inside and
two sub-folders (src/, assets/) of 40 files each: 10,000 files, plus the Dockerfile and a
.dockerignore that excludes nothing that matters (a typical app context). Sizes follow a
skewed distribution (most files 1-16 KiB, a few up to 1.5 MiB), scaled so the total is
100,000,000 bytes +- a few KB. Contents: two thirds "source-like" text drawn from a word
list, one third binary (half random, half repetitive), so layers compress like real ones.
Everything comes from random.Random(SEED); same seed -> same bytes. mtimes are fixed
(2020-01-01) so a regenerated context looks identical to every tool's stat cache.
Prints one summary line (files, bytes, sha256 over names and contents).
"""
import hashlib
import os
import random
import sys

TARGET_BYTES = 100_000_000
TOP_DIRS = 50
FILES_PER_DIR = 120
SUB_DIRS = ("src", "assets")
FILES_PER_SUB = 40
MTIME = 1577836800  # 2020-01-01T00:00:00Z

DOCKERFILE = """\
# syntax is plain Dockerfile (no frontend image: there is no registry here)
FROM bench-base AS base
RUN mkdir -p /out

FROM base AS build
COPY . /src
RUN find /src -type f | wc -l > /count
RUN cat /src/d00/f* /src/d01/f* | md5sum > /sum && du -s /src > /du

FROM base
COPY --from=build /count /sum /du /out/
COPY . /app
RUN ls -lR /app | wc -l > /listing
"""

DOCKERIGNORE = "**/*.swp\n.git\n"


def names():
    for d in range(TOP_DIRS):
        top = f"d{d:02d}"
        for f in range(FILES_PER_DIR):
            yield f"{top}/f{f:04d}"
        for sub in SUB_DIRS:
            for f in range(FILES_PER_SUB):
                yield f"{top}/{sub}/f{f:04d}"


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    out = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) == 3 else 1
    rng = random.Random(seed)
    all_names = list(names())
    # Skewed sizes: log-uniform between 256 B and 1.5 MiB, then scaled to the target total.
    raw = [int(2 ** rng.uniform(8, 14)) if rng.random() < 0.97 else int(2 ** rng.uniform(17, 20.5))
           for _ in all_names]
    scale = TARGET_BYTES / sum(raw)
    sizes = [max(1, int(s * scale)) for s in raw]
    sizes[-1] += TARGET_BYTES - sum(sizes)

    words = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randint(2, 10)))
        for _ in range(2000)
    ]
    # One pool of text and one of binary; each file takes a slice at a random offset, so
    # generating 100 MB stays fast while files still differ from each other.
    text_lines = []
    n = 0
    while n < 8 << 20:
        line = " " * (4 * rng.randint(0, 3)) + " ".join(rng.choices(words, k=rng.randint(3, 12)))
        text_lines.append(line)
        n += len(line) + 1
    text_pool = ("\n".join(text_lines) + "\n").encode()
    rand_pool = rng.randbytes(8 << 20)
    rep_pool = bytes(rng.choice(b"\x00\x01\x02\xff") for _ in range(1 << 16)) * 128

    h = hashlib.sha256()
    os.makedirs(out, exist_ok=True)
    for name, size in zip(all_names, sizes):
        kind = rng.random()
        pool = text_pool if kind < 0.67 else rand_pool if kind < 0.84 else rep_pool
        size = min(size, len(pool))
        off = rng.randrange(0, len(pool) - size + 1)
        data = pool[off:off + size]
        path = os.path.join(out, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (MTIME, MTIME))
        h.update(name.encode() + b"\0" + data)
    for name, text in (("Dockerfile", DOCKERFILE), (".dockerignore", DOCKERIGNORE)):
        path = os.path.join(out, name)
        with open(path, "w") as f:
            f.write(text)
        os.utime(path, (MTIME, MTIME))
    for root, dirs, _ in os.walk(out, topdown=False):
        for d in dirs:
            os.utime(os.path.join(root, d), (MTIME, MTIME))
    os.utime(out, (MTIME, MTIME))
    print(f"files={len(all_names)} bytes={sum(sizes[:len(all_names)])} "
          f"sha256={h.hexdigest()[:16]}")


if __name__ == "__main__":
    main()
