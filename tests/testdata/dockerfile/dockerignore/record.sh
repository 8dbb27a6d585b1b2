#!/usr/bin/env bash
# Records what docker sends for each .dockerignore case in cases.txt: the case's tree and ignore
# file become a build context, `FROM scratch` + `COPY . /` is built with BuildKit, and the single
# layer of `docker save` is listed. Without --update the result is compared with the `want` /
# `error` lines of the table (exit 1 on a difference); with --update those lines are rewritten.
#
# Usage: DOCKER_HOST=unix:///path/docker.sock tests/testdata/dockerfile/dockerignore/record.sh
#        [--update] [CASE...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec python3 - "$here/cases.txt" "$@" <<'PY'
import io, json, os, subprocess, sys, tarfile, tempfile

DOCKER = os.environ.get("DOCKER", "/usr/bin/docker")
table, args = sys.argv[1], sys.argv[2:]
update = "--update" in args
only = [a for a in args if a != "--update"]

def parse(lines):
    cases, cur = [], None
    for i, line in enumerate(lines):
        if line.startswith("case "):
            cur = dict(name=line[5:], start=i, ignore=None, tree=[], options=[], want=None,
                       error=None, end=i)
            cases.append(cur)
            continue
        if cur is None or not line or line.startswith("#"):
            continue
        if line == "ignore" or line.startswith("ignore "):
            cur["ignore"] = (cur["ignore"] or []) + [line[7:]]
        elif line.startswith("tree "):
            cur["tree"] += line[5:].split()
        elif line.startswith("option "):
            cur["options"].append(line[7:])
        elif line.startswith("want"):
            cur["want"] = line[5:]
        elif line.startswith("error "):
            cur["error"] = line[6:]
        cur["end"] = i
    return cases

def record(c):
    with tempfile.TemporaryDirectory(prefix="strata-ignore-") as d:
        ctx = os.path.join(d, "ctx")
        os.makedirs(ctx)
        with open(os.path.join(ctx, "Dockerfile"), "w") as f:
            f.write("FROM scratch\nCOPY . /\n")
        if c["ignore"] is not None:
            nl = "\r\n" if "crlf" in c["options"] else "\n"
            data = nl.join(c["ignore"]) + nl
            if "bom" in c["options"]:
                data = "\ufeff" + data
            with open(os.path.join(ctx, ".dockerignore"), "w", newline="") as f:
                f.write(data)
        for p in c["tree"]:
            full = os.path.join(ctx, p)
            if p.endswith("/"):
                os.makedirs(full, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(full), exist_ok=True)
                with open(full, "w") as f:
                    f.write(p + "\n")
        iid = os.path.join(d, "iid")
        r = subprocess.run([DOCKER, "build", "--network=none", "--iidfile", iid, ctx],
                           env=dict(os.environ, DOCKER_BUILDKIT="1"), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            return "error", r.stdout.strip().splitlines()[-1]
        image = open(iid).read().strip()
        saved = os.path.join(d, "image.tar")
        subprocess.run([DOCKER, "save", "-o", saved, image], check=True)
        subprocess.run([DOCKER, "image", "rm", "-f", image], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with tarfile.open(saved) as outer:
            manifest = json.load(outer.extractfile("manifest.json"))
            layers = manifest[0]["Layers"]
            names = []
            for layer in layers:
                with tarfile.open(fileobj=io.BytesIO(outer.extractfile(layer).read())) as t:
                    for m in t.getmembers():
                        n = m.name[2:] if m.name.startswith("./") else m.name
                        n = n.rstrip("/")
                        if n:
                            names.append(n + "/" if m.isdir() else n)
        return "want", " ".join(sorted(set(names)))

lines = open(table).read().split("\n")
cases = parse(lines)
bad = 0
# Rewrite from the bottom so that earlier line numbers stay valid.
for c in reversed(cases):
    if only and c["name"] not in only:
        continue
    kind, value = record(c)
    old = ("want", c["want"]) if c["want"] is not None else ("error", c["error"])
    if update:
        body = [l for l in lines[c["start"]:c["end"] + 1]
                if not l.startswith("want") and not l.startswith("error ")]
        lines[c["start"]:c["end"] + 1] = body + [(kind + " " + value).rstrip()]
        print("%s: %s %s" % (c["name"], kind, value))
    elif old != (kind, value):
        bad += 1
        print("MISMATCH %s: table %s %r, docker %s %r" % (c["name"], old[0], old[1], kind, value))
if update:
    open(table, "w").write("\n".join(lines))
else:
    print("cases: %d, disagreeing: %d" % (len(cases), bad))
sys.exit(1 if bad else 0)
PY
