#!/usr/bin/python3
"""PyTorch peer for `vigil bench score`: the same bundle's dense stack in torch.nn, scoring the same
preprocessed rows (written by `vigil bench score --features-out`), timed per batch the same way:
records/s, and p50/p99 latency per record (a record's latency = its batch's wall time).

Debian's Python only (/usr/bin/python3 with python3-torch); bench/ code, never part of the product.

  score_peer.py BUNDLE FEATURES.f32 --batch 1,256 --threads 1,2 [--min-seconds 1] [--json OUT]
"""
import argparse
import hashlib
import json
import struct
import sys
import time

import numpy as np
import torch


def read_bundle(path):
    """Metadata and tensors of a vigil bundle (docs/bundle.md), checksum verified."""
    data = open(path, "rb").read()
    if data[:8] != b"VIGILBDL":
        sys.exit(f"{path}: not a vigil bundle")
    if hashlib.sha256(data[:-32]).digest() != data[-32:]:
        sys.exit(f"{path}: checksum mismatch")
    (meta_len,) = struct.unpack_from("<Q", data, 16)
    meta = json.loads(data[24:24 + meta_len])
    start = (24 + meta_len + 63) // 64 * 64
    tensors = {}
    for t in meta["tensors"]:
        a = np.frombuffer(data, dtype="<f4", count=t["count"], offset=start + t["offset"])
        tensors[t["name"]] = torch.from_numpy(a.reshape(t["shape"]).copy())
    return meta, tensors


def build(meta, tensors):
    act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid,
           "leaky_relu": lambda: torch.nn.LeakyReLU(0.01), "elu": torch.nn.ELU}
    layers = []
    for l in meta["model"]["layers"]:
        lin = torch.nn.Linear(l["in"], l["out"])
        with torch.no_grad():
            lin.weight.copy_(tensors[l["name"] + ".weight"])
            lin.bias.copy_(tensors[l["name"] + ".bias"])
        layers.append(lin)
        if l["activation"] != "none":
            layers.append(act[l["activation"]]())
    return torch.nn.Sequential(*layers).eval()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bundle")
    p.add_argument("features")
    p.add_argument("--batch", default="1,256")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--min-seconds", type=float, default=1.0)
    p.add_argument("--json")
    a = p.parse_args()
    meta, tensors = read_bundle(a.bundle)
    if meta["model"]["type"] == "lstm":
        sys.exit("score_peer.py measures window-free models")
    model = build(meta, tensors)
    dim = meta["model"]["input_dim"]
    x = torch.from_numpy(np.fromfile(a.features, dtype="<f4").reshape(-1, dim))
    rows = x.shape[0]
    normal = meta["normal_class"]
    ae = meta["model"]["type"] in ("autoencoder", "mlp-ae")
    scale = tensors.get("score.error_scale")
    results = []
    for threads in [int(t) for t in a.threads.split(",")]:
        torch.set_num_threads(threads)
        for batch in [int(b) for b in a.batch.split(",")]:
            lat, done, r, best = [], 0, 0, float("inf")
            start = time.perf_counter()
            with torch.no_grad():
                while done < rows or time.perf_counter() - start < a.min_seconds:
                    n = min(batch, rows - r)
                    t0 = time.perf_counter()
                    xb = x[r:r + n]
                    y = model(xb)
                    if ae:
                        s = ((y - xb) ** 2 / scale).mean(1)
                    else:
                        s = 1 - torch.softmax(y, 1)[:, normal]
                    s.numpy()
                    us = (time.perf_counter() - t0) * 1e6
                    lat.extend([us] * n)
                    best = min(best, us / n)
                    done += n
                    r = (r + batch) % rows
            elapsed = time.perf_counter() - start
            lat.sort()
            res = {"engine": "pytorch (python)", "threads": threads, "batch": batch,
                   "records_per_s": done / elapsed, "p50_us": lat[len(lat) // 2],
                   "p99_us": lat[min(len(lat) - 1, len(lat) * 99 // 100)], "best_us": best,
                   "records": done}
            print(f"| pytorch (python) | {threads} | {batch} | {res['records_per_s']:.0f} | "
                  f"{res['p50_us']:.1f} | {res['p99_us']:.1f} | {best:.2f} |", flush=True)
            results.append(res)
    if a.json:
        json.dump({"torch_version": torch.__version__, "results": results}, open(a.json, "w"), indent=2)


if __name__ == "__main__":
    main()
