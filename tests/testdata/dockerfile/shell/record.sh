#!/usr/bin/env bash
# Checks the shell-word table against a real docker daemon with BuildKit (docker 20.10 here):
# every case under `source docker` is built and its result compared with the table.
#   word   cases: `LABEL tNNN <input>` (the legacy "key value" form hands the whole rest of the
#                 line to ProcessWord) in one FROM-scratch image per group; read back with
#                 `docker image inspect`.
#   words  cases: `EXPOSE <input>` (EXPOSE is what calls ProcessWords), one image per case,
#                 compared with .Config.ExposedPorts; only cases whose words are plain ports.
#   error  cases: one build per case, compared with the "failed to process ..." text of the error.
# Cases that a Dockerfile line cannot carry (leading/trailing blanks, a trailing escape token,
# whitespace in an EXPOSE word) are reported as skipped.
#
# Usage: DOCKER_HOST=unix:///path/docker.sock tests/testdata/dockerfile/shell/record.sh [TABLE...]
# (default: all *.txt tables next to this script). Exit status 1 when docker disagrees.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -eq 0 ]; then set -- "$here"/*.txt; fi
exec python3 - "$@" <<'PY'
import json, os, re, subprocess, sys, tempfile

DOCKER = os.environ.get("DOCKER", "/usr/bin/docker")

def load(path):
    cases, env, esc, src, group = [], [], "\\", "docker", ""
    for n, line in enumerate(open(path, encoding="utf-8", errors="surrogateescape").read().split("\n"), 1):
        if not line or line.startswith("#"):
            continue
        if line.startswith("group "):
            env, esc, src, group = [], "\\", "docker", line[6:]
            continue
        if line.startswith("env "):
            env = env + [line[4:]]
            continue
        if line.startswith("escape "):
            esc = line[7]
            continue
        if line.startswith("source "):
            src = line[7:]
            continue
        m = re.match(r"[a-z]+", line)
        kind, sep = m.group(0), line[m.end()]
        fields = line[m.end() + 1:].split(sep)
        cases.append(dict(file=os.path.basename(path), line=n, kind=kind, input=fields[0],
                          expected=fields[1:], env=env, escape=esc, source=src, group=group))
    return cases

def go_quote(s):
    out = '"'
    for ch in s:
        o = ord(ch)
        if ch == '"': out += '\\"'
        elif ch == "\\": out += "\\\\"
        elif ch == "\t": out += "\\t"
        elif ch == "\n": out += "\\n"
        elif ch == "\r": out += "\\r"
        elif o < 0x20 or o == 0x7f: out += "\\x%02x" % o
        else: out += ch
    return out + '"'

def env_line(kv, esc):
    k, _, v = kv.partition("=")
    if "'" not in v:
        return "ENV %s='%s'" % (k, v)
    q = v.replace(esc, esc + esc).replace('"', esc + '"').replace("$", esc + "$")
    return 'ENV %s="%s"' % (k, q)

def header(c):
    lines = []
    if c["escape"] != "\\":
        lines.append("# escape=" + c["escape"])
    lines.append("FROM scratch")
    lines += [env_line(e, c["escape"]) for e in c["env"]]
    return lines

def build(lines):
    with tempfile.TemporaryDirectory(prefix="strata-shell-") as d:
        with open(os.path.join(d, "Dockerfile"), "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write("\n".join(lines) + "\n")
        iid = os.path.join(d, "iid")
        p = subprocess.run([DOCKER, "build", "--network=none", "--iidfile", iid, d],
                           env=dict(os.environ, DOCKER_BUILDKIT="1"),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           errors="surrogateescape")
        if p.returncode != 0:
            m = re.search(r"failed to create LLB definition: (.*)", p.stdout)
            return None, (m.group(1) if m else p.stdout.strip().splitlines()[-1])
        image = open(iid).read().strip()
        out = subprocess.run([DOCKER, "image", "inspect", image], stdout=subprocess.PIPE,
                             check=True, text=True, errors="surrogateescape").stdout
        subprocess.run([DOCKER, "image", "rm", "-f", image], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return json.loads(out)[0]["Config"], None

def line_safe(c):
    s = c["input"]
    return (s != "" and s == s.strip() and "\n" not in s and "\r" not in s
            and not s.endswith(c["escape"]))

PORT = re.compile(r"^[0-9]+(/(tcp|udp|sctp))?$")
cases = [c for p in sys.argv[1:] for c in load(p)]
ok = bad = skipped = 0

def report(c, good, got):
    global ok, bad
    where = "%s:%d %s %s" % (c["file"], c["line"], c["kind"], go_quote(c["input"]))
    if good:
        ok += 1
    else:
        bad += 1
        print("MISMATCH %s: table %s, docker %s" % (where, c["expected"], got))

groups = {}
for c in cases:
    if c["source"] != "docker":
        continue
    if c["kind"] == "word" and line_safe(c):
        groups.setdefault((c["file"], c["group"], tuple(c["env"]), c["escape"]), []).append(c)
    elif c["kind"] == "error" and line_safe(c):
        cfg, err = build(header(c) + ["LABEL t " + c["input"]])
        want = "failed to process %s: %s" % (go_quote(c["input"]), c["expected"][0])
        report(c, err == want, err if err is not None else cfg.get("Labels"))
    elif (c["kind"] == "words" and line_safe(c) and not re.search(r"\s", c["input"])
          and all(PORT.match(w) for w in c["expected"] if w)):
        cfg, err = build(header(c) + ["EXPOSE " + c["input"]])
        # ExposedPorts is a set: compare sets of "port/proto".
        want = sorted(set(w if "/" in w else w + "/tcp" for w in c["expected"] if w))
        got = sorted((cfg or {}).get("ExposedPorts") or {}) if err is None else err
        report(c, got == want, got)
    else:
        skipped += 1
        print("skip %s:%d %s %s" % (c["file"], c["line"], c["kind"], go_quote(c["input"])))

for key, cs in groups.items():
    lines = header(cs[0]) + ["LABEL t%04d %s" % (i, c["input"]) for i, c in enumerate(cs)]
    cfg, err = build(lines)
    if err is not None:
        for c in cs:
            report(c, False, "build failed: " + err)
        continue
    labels = cfg.get("Labels") or {}
    for i, c in enumerate(cs):
        got = labels.get("t%04d" % i)
        report(c, got == c["expected"][0], got)

print("docker agrees: %d, disagrees: %d, skipped: %d" % (ok, bad, skipped))
sys.exit(1 if bad else 0)
PY
