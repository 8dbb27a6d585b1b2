#!/usr/bin/env python3
"""Checks docker's legacy v1 layer-directory ID in a `docker save` archive (extracted to DIR):
v1 ID = sha256 of the layer dir's `json` with "id" removed and "layer_id" (the chain ID; for one
layer the diff ID) and, if any, "parent" (as "sha256:<hex>") added, top-level keys sorted, compact
separators, nested values kept byte for byte. Also checks that the image ID is sha256 of the
config file bytes. Handles single-layer images (what import makes)."""
import collections
import hashlib
import json
import os
import sys


def main(d):
    manifest = json.load(open(os.path.join(d, "manifest.json")))
    for entry in manifest:
        cfg_bytes = open(os.path.join(d, entry["Config"]), "rb").read()
        cfg_hex = hashlib.sha256(cfg_bytes).hexdigest()
        print(f"config {entry['Config']} sha256={cfg_hex} "
              f"matches_name={entry['Config'] == cfg_hex + '.json'}")
        cfg = json.loads(cfg_bytes)
        diff_ids = cfg["rootfs"]["diff_ids"]
        if len(entry["Layers"]) != 1:
            print("multi-layer image: not checked")
            continue
        layer_dir = os.path.dirname(entry["Layers"][0])
        raw = open(os.path.join(d, layer_dir, "json"), "rb").read()
        v1 = json.loads(raw, object_pairs_hook=collections.OrderedDict)
        v1.pop("id")
        v1["layer_id"] = diff_ids[0]
        canon = json.dumps(collections.OrderedDict(sorted(v1.items())), separators=(",", ":"),
                           ensure_ascii=False)
        got = hashlib.sha256(canon.encode()).hexdigest()
        print(f"layer dir {layer_dir} computed_v1_id={got} matches={got == layer_dir}")


if __name__ == "__main__":
    main(sys.argv[1])
