#!/usr/bin/env python3
"""Pushes a variant of an image in a plain-HTTP registry: same layers (mounted from the
source repository), a config with another author, so the image ID differs but every layer
is shared. Prints the new manifest digest.

Usage: variant.py HOST SRC_REPO SRC_REF DST_REPO DST_TAG AUTHOR
"""
import hashlib
import json
import sys
import urllib.request

host, src, src_ref, dst, dst_tag, author = sys.argv[1:7]
base = "http://" + host + "/v2/"
ACCEPT = ("application/vnd.oci.image.manifest.v1+json, "
          "application/vnd.docker.distribution.manifest.v2+json")


def req(method, url, data=None, headers=None):
    r = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    return urllib.request.urlopen(r)


man_resp = req("GET", base + src + "/manifests/" + src_ref, headers={"Accept": ACCEPT})
media_type = man_resp.headers["Content-Type"]
man = json.loads(man_resp.read())
cfg = json.loads(req("GET", base + src + "/blobs/" + man["config"]["digest"]).read())
cfg["author"] = author
cfg_bytes = json.dumps(cfg).encode()
cfg_digest = "sha256:" + hashlib.sha256(cfg_bytes).hexdigest()

for layer in man["layers"]:
    r = req("POST", base + dst + "/blobs/uploads/?mount=" + layer["digest"] + "&from=" + src)
    assert r.status == 201, r.status
r = req("POST", base + dst + "/blobs/uploads/")
loc = r.headers["Location"]
if loc.startswith("/"):
    loc = "http://" + host + loc
sep = "&" if "?" in loc else "?"
req("PUT", loc + sep + "digest=" + cfg_digest, data=cfg_bytes,
    headers={"Content-Type": "application/octet-stream"})

man["config"]["digest"] = cfg_digest
man["config"]["size"] = len(cfg_bytes)
man_bytes = json.dumps(man).encode()
req("PUT", base + dst + "/manifests/" + dst_tag, data=man_bytes,
    headers={"Content-Type": media_type})
print("sha256:" + hashlib.sha256(man_bytes).hexdigest())
