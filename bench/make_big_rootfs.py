#!/usr/bin/env python3
"""Writes a deterministic ~350 MB root filesystem tar for the save/load benchmark.

Usage: make_big_rootfs.py BUSYBOX_ROOTFS.tar OUT.tar [SEED]

Content: every entry of the busybox base (examples/busybox/make-rootfs.sh), then
  data/big/blob{0..4}.bin   5 files x 56 MiB of random bytes
  data/small/dNN/fNNNN.bin  5,000 files of 1-28 KiB random bytes, in 50 folders
Bytes come from Python's Mersenne Twister seeded with SEED (default 2), so the same
seed always gives the same tar (GNU format, mtime 2000-01-01, owner 0:0, sorted).
Random bytes do not compress; save/load here are uncompressed, so that only keeps
the figures honest if a tool compresses internally.
"""
import io
import random
import sys
import tarfile

MIB = 1 << 20
MTIME = 946684800  # 2000-01-01T00:00:00Z
BIG_FILES, BIG_SIZE = 5, 56 * MIB
SMALL_FILES, SMALL_DIRS = 5000, 50


class RandomStream(io.RawIOBase):
    """A readable stream of `size` bytes from rng, generated 1 MiB at a time."""

    def __init__(self, rng, size):
        self.rng, self.left, self.buf = rng, size, b""

    def readable(self):
        return True

    def read(self, n=-1):
        if n < 0:
            n = self.left + len(self.buf)
        while len(self.buf) < n and self.left > 0:
            k = min(MIB, self.left)
            self.buf += self.rng.randbytes(k)
            self.left -= k
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def info(name, kind=tarfile.REGTYPE, size=0, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.mode, ti.mtime = kind, size, mode, MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    base, out = sys.argv[1], sys.argv[2]
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) == 4 else 2)
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as tw:
        with tarfile.open(base) as tb:
            for m in tb:
                tw.addfile(m, tb.extractfile(m) if m.isfile() else None)
        for d in ("./data", "./data/big", "./data/small"):
            tw.addfile(info(d, tarfile.DIRTYPE, mode=0o755))
        for i in range(BIG_FILES):
            tw.addfile(info(f"./data/big/blob{i}.bin", size=BIG_SIZE), RandomStream(rng, BIG_SIZE))
        per_dir = SMALL_FILES // SMALL_DIRS
        for d in range(SMALL_DIRS):
            tw.addfile(info(f"./data/small/d{d:02d}", tarfile.DIRTYPE, mode=0o755))
            for f in range(per_dir):
                size = rng.randint(1024, 28 * 1024)
                tw.addfile(info(f"./data/small/d{d:02d}/f{f:04d}.bin", size=size),
                           io.BytesIO(rng.randbytes(size)))


if __name__ == "__main__":
    main()
