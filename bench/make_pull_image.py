#!/usr/bin/env python3
"""Writes a deterministic 4-layer image as an OCI image layout, for the pull benchmark.

Usage: make_pull_image.py OUT_DIR [SEED]

The image looks like a real root file system to a compressor: 20,000 files, about 350 MB
uncompressed and about 238 MB as gzip (level 6) layers, in four layers of 45/25/18/12 %.
  - Debian package contents: regular files under /usr/share, /usr/lib, /usr/bin, /usr/sbin
    of this machine, sorted by path, up to 1 MiB each (binaries, libraries, docs, locales)
  - generated text: log- and config-like lines from a seeded word list (compresses well)
  - generated binary assets: seeded random bytes (like the already-compressed .gz, .png,
    .jar files of a real image, they do not compress)
The random parts come from Python's Mersenne Twister seeded with SEED (default 3); tar
entries are sorted, with mtime 2000-01-01, owner 0:0, GNU format, and gzip has no name and
mtime 0, so the same machine and seed always give the same digests. (Another Debian
install gives other /usr files, hence other digests but the same shape.)

OUT_DIR receives oci-layout, index.json and blobs/sha256/*; push it with
  skopeo copy --dest-tls-verify=false oci:OUT_DIR:latest docker://HOST/bench/pull:latest
"""
import hashlib
import io
import json
import multiprocessing
import os
import random
import sys
import tarfile
import zlib

MTIME = 946684800  # 2000-01-01T00:00:00Z
TOTAL_FILES = 20000
DEBIAN_FILES, DEBIAN_BYTES = 14000, 150 << 20
TEXT_FILES, TEXT_BYTES = 4000, 35 << 20
ASSET_FILES, ASSET_BYTES = 2000, 143 << 20
LAYER_SHARE = (0.45, 0.25, 0.18, 0.12)
ROOTS = ("/usr/share", "/usr/lib", "/usr/bin", "/usr/sbin")
MAX_DEBIAN_FILE = 1 << 20


def debian_files():
    """(path, size) of regular readable files under ROOTS, sorted, within the budgets."""
    out, total = [], 0
    for root in ROOTS:
        for d, dirs, files in os.walk(root):
            dirs.sort()
            for f in sorted(files):
                p = os.path.join(d, f)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                if not (st.st_mode & 0o170000 == 0o100000) or st.st_size > MAX_DEBIAN_FILE:
                    continue
                if not os.access(p, os.R_OK):
                    continue
                if total + st.st_size > DEBIAN_BYTES:
                    continue
                out.append((p, st.st_size))
                total += st.st_size
                if len(out) == DEBIAN_FILES:
                    return out
    return out


def sizes(rng, count, total):
    """count sizes summing to about total, log-uniform like a real tree's."""
    raw = [rng.lognormvariate(0, 1.2) for _ in range(count)]
    scale = total / sum(raw)
    return [max(1, int(r * scale)) for r in raw]


def text_bytes(rng, words, size):
    lines, n = [], 0
    while n < size:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(4, 14)))
        line = f"{rng.randint(0, 99999):05d} {line}\n"
        lines.append(line)
        n += len(line)
    return "".join(lines).encode()[:size]


def entries(seed):
    """Every file of the image as (layer, path, mode, source) with source a path or bytes
    generator, in the order they are laid out."""
    rng = random.Random(seed)
    deb = debian_files()
    words = sorted({w for p, _ in deb for w in os.path.basename(p).replace("-", ".").split(".")
                    if w.isalpha() and 2 < len(w) < 12})
    if len(words) < 100:
        words = [f"word{i}" for i in range(1000)]
    items = [("deb", p[1:], 0o755 if os.access(p, os.X_OK) else 0o644, p) for p, _ in deb]
    for i, sz in enumerate(sizes(rng, TEXT_FILES, TEXT_BYTES)):
        items.append(("text", f"var/lib/app/conf/d{i // 100:02d}/f{i:05d}.conf", 0o644,
                      (rng.getrandbits(64), sz)))
    for i, sz in enumerate(sizes(rng, ASSET_FILES, ASSET_BYTES)):
        items.append(("asset", f"opt/app/assets/d{i // 100:02d}/a{i:05d}.bin", 0o644,
                      (rng.getrandbits(64), sz)))
    # Spread every kind over the layers by their share, keeping paths in order per layer.
    layers = [[] for _ in LAYER_SHARE]
    for kind in ("deb", "text", "asset"):
        group = [it for it in items if it[0] == kind]
        start = 0
        for li, share in enumerate(LAYER_SHARE):
            end = len(group) if li == len(LAYER_SHARE) - 1 else start + int(len(group) * share)
            layers[li].extend(group[start:end])
            start = end
    return layers, words


def info(name, kind=tarfile.REGTYPE, size=0, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.mode, ti.mtime = kind, size, mode, MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


def add_items(tw, items, words):
    """Writes a layer's items into the open tar tw, sorted by path, each new parent directory
    before its first entry (push.sh builds its layers with this too)."""
    dirs = set()
    for kind, name, mode, src in sorted(items, key=lambda it: it[1]):
        parts = name.split("/")
        for k in range(1, len(parts)):
            d = "/".join(parts[:k])
            if d not in dirs:
                dirs.add(d)
                tw.addfile(info(d, tarfile.DIRTYPE, mode=0o755))
        if kind == "deb":
            with open(src, "rb") as f:
                data = f.read()
        else:
            r = random.Random(src[0])
            data = text_bytes(r, words, src[1]) if kind == "text" else r.randbytes(src[1])
        tw.addfile(info(name, size=len(data), mode=mode), io.BytesIO(data))


def write_layer(args):
    li, items, words, out_dir = args
    tar_path = os.path.join(out_dir, f"layer{li}.tar")
    with tarfile.open(tar_path, "w", format=tarfile.GNU_FORMAT) as tw:
        add_items(tw, items, words)
    diff = hashlib.sha256()
    comp = hashlib.sha256()
    gz_path = tar_path + ".gz"
    # gzip framing by hand: no file name, mtime 0, level 6 (what docker's push uses).
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    crc, size = 0, 0
    with open(tar_path, "rb") as f, open(gz_path, "wb") as g:
        def put(b):
            comp.update(b)
            g.write(b)
        put(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff")
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            diff.update(chunk)
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
            put(c.compress(chunk))
        put(c.flush())
        put(crc.to_bytes(4, "little") + (size & 0xFFFFFFFF).to_bytes(4, "little"))
    os.unlink(tar_path)
    gz_size = os.path.getsize(gz_path)
    blob = os.path.join(out_dir, "blobs", "sha256", comp.hexdigest())
    os.replace(gz_path, blob)
    return li, "sha256:" + diff.hexdigest(), "sha256:" + comp.hexdigest(), gz_size, size, \
        len(items)


def put_blob(out_dir, data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out_dir, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) == 3 else 3
    os.makedirs(os.path.join(out_dir, "blobs", "sha256"), exist_ok=True)
    layers, words = entries(seed)
    with multiprocessing.Pool(2) as pool:
        done = sorted(pool.map(write_layer,
                               [(i, items, words, out_dir) for i, items in enumerate(layers)]))
    config = {
        "architecture": "amd64", "os": "linux",
        "created": "2000-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [d[1] for d in done]},
        "history": [{"created": "2000-01-01T00:00:00Z", "created_by": f"layer {d[0]}"}
                    for d in done],
    }
    cfg_digest, cfg_size = put_blob(out_dir, json.dumps(config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": cfg_digest, "size": cfg_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": d[2], "size": d[3]} for d in done],
    }
    man_digest, man_size = put_blob(out_dir, json.dumps(manifest, sort_keys=True).encode())
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": man_digest,
        "size": man_size, "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}
    with open(os.path.join(out_dir, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(out_dir, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    files = sum(d[5] for d in done)
    print(f"{man_digest} files={files} tar={sum(d[4] for d in done)} "
          f"gzip={sum(d[3] for d in done)} layers=" +
          ",".join(f"{d[4]}/{d[3]}" for d in done))


if __name__ == "__main__":
    main()
