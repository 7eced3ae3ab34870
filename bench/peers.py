#!/usr/bin/python3
"""Peer baselines for vigil: the same data, preprocessing and protocol in scikit-learn, XGBoost
and PyTorch, so vigil's accuracy and speed can be reported as ratios against well-known tools.

Run with Debian's /usr/bin/python3 (torch, sklearn, xgboost, numpy, pandas from apt).

Modes:
  peers.py --format nsl-kdd|unsw-nb15 --train FILE --test FILE [--test FILE2 ...]
           --task binary|multiclass --threads N --seed S --peers rf,xgb,torch-mlp,torch-ae
           --epochs E --batch-size B --json OUT.json
      Trains and evaluates each peer in its own subprocess (so its peak RSS is its own) and
      writes one JSON document. `--test split:0.2` holds out a stratified 20% of --train instead.
  peers.py split --format F --input FILE --fraction 0.2 --seed S --out-dir DIR
      Writes DIR/train.<ext> and DIR/test.<ext>: the input's raw lines (header kept), a
      class-stratified random hold-out. vigil and the peers then read the same two files.
  peers.py table --manifest FILE
      Prints the markdown table of bench/run_peers.sh from the runs listed in FILE.

Protocol (kept identical to vigil's, see bench/README.md): preprocessing is fitted on the
training part only; a stratified 10% of the training file is the validation split used for model
selection (early stopping, best epoch, AE threshold); every peer trains on the remaining 90%; test
files are only scored.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

NSL_FEATURES = [
    "duration", "protocol_type", "service", "flag", "src_bytes", "dst_bytes", "land",
    "wrong_fragment", "urgent", "hot", "num_failed_logins", "logged_in", "num_compromised",
    "root_shell", "su_attempted", "num_root", "num_file_creations", "num_shells",
    "num_access_files", "num_outbound_cmds", "is_host_login", "is_guest_login", "count",
    "srv_count", "serror_rate", "srv_serror_rate", "rerror_rate", "srv_rerror_rate",
    "same_srv_rate", "diff_srv_rate", "srv_diff_host_rate", "dst_host_count",
    "dst_host_srv_count", "dst_host_same_srv_rate", "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate", "dst_host_srv_diff_host_rate", "dst_host_serror_rate",
    "dst_host_srv_serror_rate", "dst_host_rerror_rate", "dst_host_srv_rerror_rate",
]
NSL_CATEGORICAL = ["protocol_type", "service", "flag"]
UNSW_CATEGORICAL = ["proto", "service", "state"]

# Attack name -> family, as vigil's src/data/format.cc (Tavallaee et al. 2009), including the
# attacks that occur only in the test files.
NSL_FAMILIES = {"normal": "normal"}
for _family, _names in {
    "DoS": "back land neptune pod smurf teardrop apache2 mailbomb processtable udpstorm",
    "Probe": "ipsweep nmap portsweep satan mscan saint",
    "R2L": "ftp_write guess_passwd imap multihop phf spy warezclient warezmaster httptunnel named "
           "sendmail snmpgetattack snmpguess worm xlock xsnoop",
    "U2R": "buffer_overflow loadmodule perl rootkit ps sqlattack xterm",
}.items():
    for _n in _names.split():
        NSL_FAMILIES[_n] = _family

ALL_PEERS = ["rf", "xgb", "torch-mlp", "torch-ae"]


# ---- Loading -----------------------------------------------------------------------------------

class Data:
    """One file: raw feature frame, class names, 0/1 labels."""

    def __init__(self, frame, classes, labels, numeric, categorical):
        self.frame = frame
        self.classes = classes
        self.labels = labels
        self.numeric = numeric
        self.categorical = categorical


def load(fmt, path):
    if fmt == "nsl-kdd":
        names = NSL_FEATURES + ["attack", "difficulty"]
        df = pd.read_csv(path, header=None, names=names, dtype={c: str for c in NSL_CATEGORICAL},
                         skipinitialspace=True)
        attack = df["attack"].astype(str).str.strip().str.lower()
        unknown = sorted(set(attack) - set(NSL_FAMILIES))
        if unknown:
            raise SystemExit(f"{path}: unknown NSL-KDD attack name(s): {unknown}")
        classes = attack.map(NSL_FAMILIES).to_numpy()
        labels = (classes != "normal").astype(np.int64)
        numeric = [c for c in NSL_FEATURES if c not in NSL_CATEGORICAL]
        frame = df[NSL_FEATURES]
        return Data(frame, classes, labels, numeric, NSL_CATEGORICAL)
    if fmt == "unsw-nb15":
        df = pd.read_csv(path, encoding="utf-8-sig", dtype={c: str for c in UNSW_CATEGORICAL},
                         skipinitialspace=True)
        df.columns = [c.strip() for c in df.columns]
        cls = df["attack_cat"].astype(str).str.strip().replace({"Backdoors": "Backdoor"})
        classes = cls.to_numpy()
        labels = df["label"].astype(np.int64).to_numpy()
        numeric = [c for c in df.columns
                   if c not in UNSW_CATEGORICAL and c not in ("id", "attack_cat", "label")]
        frame = df[numeric + UNSW_CATEGORICAL]
        return Data(frame, classes, labels, numeric, UNSW_CATEGORICAL)
    raise SystemExit(f"unknown format {fmt!r}")


def subset(data, idx):
    return Data(data.frame.iloc[idx].reset_index(drop=True), data.classes[idx], data.labels[idx],
                data.numeric, data.categorical)


def stratified_split(classes, fraction, seed):
    """(keep_idx, holdout_idx): a random, class-stratified hold-out of `fraction` of the rows."""
    from sklearn.model_selection import train_test_split
    idx = np.arange(len(classes))
    _, counts = np.unique(classes, return_counts=True)
    strat = classes if counts.min() >= 2 else None
    keep, hold = train_test_split(idx, test_size=fraction, random_state=seed, stratify=strat)
    return np.sort(keep), np.sort(hold)


# ---- Preprocessing (vigil's, fitted on the training part only) ---------------------------------

class Preprocessor:
    """vigil's src/features/preprocess.cc. Numeric: non-finite inputs are replaced first (NaN by
    the training mean, +Inf by the training maximum, -Inf by the minimum, all over the finite
    training values); log1p if the training minimum is >= 0 and the skewness g1 = m3 / m2^1.5 is
    > 2; then standardise with the mean and population std of the transformed training column
    (std < 1e-12 -> 1) and clip to [-10, 10]. Categorical: one-hot over the values seen in training
    (most frequent first) plus an "other" bucket for values not seen in training."""

    def fit(self, data):
        self.numeric = data.numeric
        self.categorical = data.categorical
        x = data.frame[self.numeric].to_numpy(dtype=np.float64)
        k = x.shape[1]
        self.raw_mean, self.raw_min, self.raw_max = np.zeros(k), np.zeros(k), np.zeros(k)
        self.log = np.zeros(k, dtype=bool)
        for j in range(k):
            col = x[:, j][np.isfinite(x[:, j])]
            if col.size == 0:
                continue
            self.raw_mean[j], self.raw_min[j], self.raw_max[j] = col.mean(), col.min(), col.max()
            d = col - col.mean()
            m2, m3 = np.mean(d * d), np.mean(d * d * d)
            skew = m3 / m2 ** 1.5 if m2 > 1e-24 else 0.0
            self.log[j] = col.min() >= 0 and skew > 2
        x = self._fill_and_log(x)
        self.mean = x.mean(axis=0)
        self.std = x.std(axis=0)
        self.std = np.where(self.std > 1e-12, self.std, 1.0)
        self.levels = {}
        for c in self.categorical:
            counts = data.frame[c].astype(str).str.strip().value_counts()
            self.levels[c] = sorted(counts.index, key=lambda v: (-counts[v], v))
        return self

    def _fill_and_log(self, x):
        x = np.where(np.isnan(x), self.raw_mean, x)
        x = np.where(np.isposinf(x), self.raw_max, x)
        x = np.where(np.isneginf(x), self.raw_min, x)
        x[:, self.log] = np.log1p(np.maximum(x[:, self.log], 0.0))
        return x

    def transform(self, data):
        x = data.frame[self.numeric].to_numpy(dtype=np.float64)
        x = np.clip((self._fill_and_log(x) - self.mean) / self.std, -10.0, 10.0)
        blocks = [x]
        for c in self.categorical:
            levels = self.levels[c]
            pos = {v: i for i, v in enumerate(levels)}
            codes = data.frame[c].astype(str).str.strip().map(pos).fillna(len(levels))
            onehot = np.zeros((len(codes), len(levels) + 1))
            onehot[np.arange(len(codes)), codes.to_numpy(dtype=np.int64)] = 1.0
            blocks.append(onehot)
        return np.hstack(blocks).astype(np.float32)


# ---- Metrics -----------------------------------------------------------------------------------

def binary_metrics(y, pred, score):
    from sklearn.metrics import roc_auc_score
    y = np.asarray(y)
    pred = np.asarray(pred)
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    tn = int(((pred == 0) & (y == 0)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    auc = float(roc_auc_score(y, score)) if len(np.unique(y)) == 2 else None
    # F1 of the normal class, for the two-class macro F1 (as vigil's report).
    npv = tn / (tn + fn) if tn + fn else 0.0
    spec = tn / (tn + fp) if tn + fp else 0.0
    f1_normal = 2 * npv * spec / (npv + spec) if npv + spec else 0.0
    return {"accuracy": (tp + tn) / len(y), "precision": precision, "recall": recall, "f1": f1,
            "macro_f1": (f1 + f1_normal) / 2,
            "false_alarm_rate": fp / (fp + tn) if fp + tn else 0.0, "roc_auc": auc,
            "rows": int(len(y))}


def f1_best_threshold(y, score):
    """The score threshold (predict attack when score > t) with the best F1 on (y, score)."""
    order = np.argsort(-score, kind="mergesort")
    s = score[order]
    yy = np.asarray(y)[order]
    tp = np.cumsum(yy)
    fp = np.cumsum(1 - yy)
    positives = yy.sum()
    # Only cut between distinct scores.
    last = np.r_[s[1:] != s[:-1], True]
    f1 = np.where(last, 2 * tp / (tp + fp + positives), -1.0)
    k = int(np.argmax(f1))
    return float((s[k] + s[k + 1]) / 2) if k + 1 < len(s) else float(s[k] - 1e-12)


# ---- Peers (each runs in its own subprocess) ---------------------------------------------------

class Prepared:
    def __init__(self, args):
        train_all = load(args.format, args.train)
        self.tests = []
        if len(args.test) == 1 and args.test[0].startswith("split:"):
            keep, hold = stratified_split(train_all.classes, float(args.test[0][6:]), args.seed)
            self.tests.append(("holdout", subset(train_all, hold)))
            train_all = subset(train_all, keep)
        else:
            for path in args.test:
                self.tests.append((os.path.basename(path), load(args.format, path)))
        tr, va = stratified_split(train_all.classes, 0.1, args.seed)
        self.train = subset(train_all, tr)
        self.val = subset(train_all, va)
        self.pre = Preprocessor().fit(self.train)
        self.x_train = self.pre.transform(self.train)
        self.x_val = self.pre.transform(self.val)
        self.task = args.task
        if args.task == "binary":
            self.class_names = ["normal", "attack"]
            self.y_train, self.y_val = self.train.labels, self.val.labels
        else:
            self.class_names = sorted(set(self.train.classes))
            pos = {c: i for i, c in enumerate(self.class_names)}
            self.y_train = np.array([pos[c] for c in self.train.classes])
            self.y_val = np.array([pos[c] for c in self.val.classes])
        normal = [i for i, c in enumerate(self.class_names) if c.lower() == "normal"]
        if not normal:
            raise SystemExit("no 'normal' class in the training data")
        self.normal_index = normal[0]

    def evaluate(self, predict_proba):
        """Test metrics for a model given as x -> class probabilities."""
        from sklearn.metrics import f1_score
        out = {}
        for name, data in self.tests:
            proba = predict_proba(self.pre.transform(data))
            score = 1.0 - proba[:, self.normal_index]
            # As vigil's report: the binary keys (accuracy included) are normal vs any attack at
            # attack score > 0.5; the class keys come from the argmax class.
            m = binary_metrics(data.labels, (score > 0.5).astype(np.int64), score)
            if self.task == "multiclass":
                names = np.array(self.class_names)[np.argmax(proba, axis=1)]
                m["class_accuracy"] = float(np.mean(names == data.classes))
                m["macro_f1"] = float(f1_score(data.classes, names, average="macro"))
            out[name] = m
        return out


def run_rf(p, args):
    from sklearn.ensemble import RandomForestClassifier
    model = RandomForestClassifier(n_estimators=100, n_jobs=args.threads, random_state=args.seed)
    t0 = time.perf_counter()
    model.fit(p.x_train, p.y_train)
    train_s = time.perf_counter() - t0
    return {"train_s": train_s, "samples_per_s": len(p.x_train) / train_s,
            "params": {"n_estimators": 100},
            "tests": p.evaluate(model.predict_proba)}


def run_xgb(p, args):
    import xgboost as xgb
    multi = p.task == "multiclass"
    model = xgb.XGBClassifier(
        n_estimators=200, tree_method="hist", n_jobs=args.threads, random_state=args.seed,
        early_stopping_rounds=20, eval_metric="mlogloss" if multi else "logloss")
    t0 = time.perf_counter()
    model.fit(p.x_train, p.y_train, eval_set=[(p.x_val, p.y_val)], verbose=False)
    train_s = time.perf_counter() - t0
    return {"train_s": train_s, "samples_per_s": len(p.x_train) / train_s,
            "params": {"n_estimators": 200, "best_iteration": int(model.best_iteration)},
            "tests": p.evaluate(model.predict_proba)}


def _torch_setup(args):
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    return torch


def _predict(model, x, torch, batch=8192):
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            outs.append(model(torch.from_numpy(x[i:i + batch])))
    return torch.cat(outs)


def run_torch_mlp(p, args):
    torch = _torch_setup(args)
    nn = torch.nn
    d, k = p.x_train.shape[1], len(p.class_names)
    model = nn.Sequential(nn.Linear(d, 256), nn.ReLU(), nn.Dropout(0.1), nn.Linear(256, 256),
                          nn.ReLU(), nn.Dropout(0.1), nn.Linear(256, k))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.from_numpy(p.x_train)
    y = torch.from_numpy(np.asarray(p.y_train, dtype=np.int64))
    y_val = torch.from_numpy(np.asarray(p.y_val, dtype=np.int64))
    best = (math.inf, -1, None)
    history = []
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), args.batch_size):
            b = perm[i:i + args.batch_size]
            opt.zero_grad()
            loss = loss_fn(model(x[b]), y[b])
            loss.backward()
            opt.step()
        # Model selection: the epoch with the lowest validation cross-entropy.
        val_loss = float(loss_fn(_predict(model, p.x_val, torch), y_val))
        history.append(val_loss)
        if val_loss < best[0]:
            best = (val_loss, epoch, {k2: v.clone() for k2, v in model.state_dict().items()})
    train_s = time.perf_counter() - t0
    model.load_state_dict(best[2])

    def proba(xt):
        return torch.softmax(_predict(model, xt, torch), dim=1).numpy()

    return {"train_s": train_s, "samples_per_s": len(x) * args.epochs / train_s,
            "params": {"epochs": args.epochs, "batch_size": args.batch_size,
                       "best_epoch": best[1] + 1, "val_loss": history},
            "tests": p.evaluate(proba)}


def run_torch_ae(p, args):
    if p.task != "binary":
        return {"skipped": "the autoencoder is a binary (normal vs attack) detector"}
    torch = _torch_setup(args)
    nn = torch.nn
    d = p.x_train.shape[1]
    model = nn.Sequential(nn.Linear(d, 64), nn.ReLU(), nn.Linear(64, 16), nn.ReLU(),
                          nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, d))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.from_numpy(p.x_train[p.y_train == 0])
    x_val_normal = p.x_val[p.y_val == 0]

    def errors(xt):
        rec = _predict(model, xt, torch).numpy()
        return np.mean((rec - xt) ** 2, axis=1)

    best = (math.inf, -1, None)
    history = []
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), args.batch_size):
            xb = x[perm[i:i + args.batch_size]]
            opt.zero_grad()
            loss = torch.mean((model(xb) - xb) ** 2)
            loss.backward()
            opt.step()
        # Model selection without attack labels: lowest reconstruction error on normal val rows.
        val_err = float(np.mean(errors(x_val_normal)))
        history.append(val_err)
        if val_err < best[0]:
            best = (val_err, epoch, {k2: v.clone() for k2, v in model.state_dict().items()})
    model.load_state_dict(best[2])
    threshold = f1_best_threshold(p.y_val, errors(p.x_val))
    train_s = time.perf_counter() - t0
    out = {}
    for name, data in p.tests:
        score = errors(p.pre.transform(data))
        out[name] = binary_metrics(data.labels, (score > threshold).astype(np.int64), score)
    return {"train_s": train_s, "samples_per_s": len(x) * args.epochs / train_s,
            "train_rows_used": int(len(x)),
            "params": {"epochs": args.epochs, "batch_size": args.batch_size,
                       "best_epoch": best[1] + 1, "threshold": threshold,
                       "val_normal_mse": history},
            "tests": out}


RUNNERS = {"rf": run_rf, "xgb": run_xgb, "torch-mlp": run_torch_mlp, "torch-ae": run_torch_ae}


def worker(args):
    t0 = time.perf_counter()
    p = Prepared(args)
    prep_s = time.perf_counter() - t0
    result = RUNNERS[args.worker](p, args)
    result.update({"prep_s": prep_s, "train_rows": int(len(p.x_train)),
                   "val_rows": int(len(p.x_val)), "features": int(p.x_train.shape[1])})
    with open(args.worker_out, "w") as f:
        json.dump(result, f)


def run_all(args, argv):
    peers = [s.strip() for s in args.peers.split(",") if s.strip()]
    bad = [s for s in peers if s not in RUNNERS]
    if bad:
        raise SystemExit(f"unknown peer(s) {bad}; known: {ALL_PEERS}")
    doc = {"format": args.format, "task": args.task, "train": args.train, "test": args.test,
           "threads": args.threads, "seed": args.seed, "epochs": args.epochs,
           "batch_size": args.batch_size, "peers": {}}
    for peer in peers:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            out_path = tmp.name
        cmd = [sys.executable, os.path.abspath(__file__)] + argv + ["--worker", peer,
                                                                    "--worker-out", out_path]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            print(f"peers: {peer} failed (exit {proc.returncode})", file=sys.stderr)
            doc["peers"][peer] = {"error": f"exit {proc.returncode}"}
            os.unlink(out_path)
            continue
        with open(out_path) as f:
            r = json.load(f)
        os.unlink(out_path)
        r["wall_s"] = wall  # the whole subprocess: imports, load, preprocess, train, score
        r["peak_rss_mb"] = usage.ru_maxrss / 1024.0  # KiB on Linux
        doc["peers"][peer] = r
        if "skipped" in r:
            print(f"peers: {peer}: skipped ({r['skipped']})", file=sys.stderr)
            continue
        summary = ", ".join(f"{t}: acc {m['accuracy']:.4f} auc {m['roc_auc'] or float('nan'):.4f}"
                            for t, m in r["tests"].items())
        print(f"peers: {peer}: train {r['train_s']:.1f} s ({r['samples_per_s']:.0f} samples/s), "
              f"peak {r['peak_rss_mb']:.0f} MB; {summary}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)
    return doc


# ---- split mode --------------------------------------------------------------------------------

def split_mode(argv):
    ap = argparse.ArgumentParser(prog="peers.py split")
    ap.add_argument("--format", required=True, choices=["nsl-kdd", "unsw-nb15"])
    ap.add_argument("--input", required=True)
    ap.add_argument("--fraction", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out-dir", required=True)
    a = ap.parse_args(argv)
    data = load(a.format, a.input)
    keep, hold = stratified_split(data.classes, a.fraction, a.seed)
    with open(a.input, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    header = [lines[0]] if a.format == "unsw-nb15" else []
    body = lines[len(header):]
    body = [ln for ln in body if ln.strip()]
    if len(body) != len(data.classes):
        raise SystemExit(f"{a.input}: {len(body)} lines but {len(data.classes)} records")
    if body and not body[-1].endswith(b"\n"):
        body[-1] += b"\n"
    ext = os.path.splitext(a.input)[1] or ".txt"
    os.makedirs(a.out_dir, exist_ok=True)
    for name, idx in (("train", keep), ("test", hold)):
        with open(os.path.join(a.out_dir, name + ext), "wb") as f:
            f.writelines(header + [body[i] for i in idx])
    print(f"split: {len(keep)} train + {len(hold)} test rows -> {a.out_dir}", file=sys.stderr)


# ---- table mode --------------------------------------------------------------------------------

def parse_time_v(path):
    """(wall seconds, peak RSS MB) from a `/usr/bin/time -v -o` file."""
    wall, rss = None, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("Elapsed (wall clock) time"):
                parts = [float(v) for v in line.rsplit(" ", 1)[1].split(":")]
                wall = sum(v * 60 ** i for i, v in enumerate(reversed(parts)))
            elif line.startswith("Maximum resident set size"):
                rss = int(line.rsplit(" ", 1)[1]) / 1024.0
    return wall, rss


def parse_train_log(path):
    """samples/s and seconds from vigil's `train: N rows x E epochs in T s (R samples/s)` line."""
    import re
    sps, secs = None, None
    with open(path, errors="replace") as f:
        for line in f:
            m = re.search(r"train: .* in ([0-9.eE+-]+) s \(([0-9.eE+-]+) samples/s\)", line)
            if m:
                secs, sps = float(m.group(1)), float(m.group(2))
    return sps, secs


def class_accuracy(m):
    """Multiclass accuracy from a peer's class_accuracy or a vigil report's confusion matrix."""
    if "class_accuracy" in m:
        return m["class_accuracy"]
    matrix = (m.get("confusion") or {}).get("matrix")
    if not matrix:
        return None
    total = sum(sum(row) for row in matrix)
    return sum(matrix[i][i] for i in range(len(matrix))) / total if total else None


def fmt(v, digits=4):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def table_mode(argv):
    ap = argparse.ArgumentParser(prog="peers.py table")
    ap.add_argument("--manifest", required=True)
    a = ap.parse_args(argv)
    rows = []  # (dataset, task, system, test, metrics, sps, wall, peak)
    vigil_ref = {}  # (dataset, task, model) -> (sps, wall)
    with open(a.manifest) as f:
        entries = [ln.rstrip("\n").split("\t") for ln in f if ln.strip()]
    for e in entries:
        if e[0] == "vigil":
            # vigil DATASET TASK MODEL TRAIN_LOG TRAIN_TIME [TEST=REPORT=TIME ...]
            _, ds, task, model, log, ttime = e[:6]
            system = "vigil-" + model
            if not os.path.exists(ttime) or not os.path.exists(log):
                rows.append((ds, task, system, "-", {}, "failed", None, None))
                continue
            sps, _ = parse_train_log(log)
            wall, peak = parse_time_v(ttime)
            for spec in e[6:]:
                test, report, etime = spec.split("=", 2)
                if not os.path.exists(report):
                    rows.append((ds, task, system, test, {}, "failed", None, None))
                    continue
                with open(report) as rf:
                    m = json.load(rf)
                ew, ep = parse_time_v(etime)
                w = (wall or 0) + (ew or 0)
                pk = max(peak or 0, ep or 0)
                rows.append((ds, task, system, test, m, sps, w, pk))
                vigil_ref.setdefault((ds, task, model), (sps, w))
        elif e[0] == "vigil-failed":
            rows.append((e[1], e[2], "vigil-" + e[3], "-", {}, "failed", None, None))
        elif e[0] == "peers":
            _, ds, task, path = e[:4]
            if not os.path.exists(path):
                rows.append((ds, task, "peers", "-", {}, "failed", None, None))
                continue
            with open(path) as pf:
                doc = json.load(pf)
            for peer, r in doc["peers"].items():
                if "skipped" in r:
                    continue
                if "error" in r:
                    rows.append((ds, task, peer, "-", {}, "failed", None, None))
                    continue
                for test, m in r["tests"].items():
                    rows.append((ds, task, peer, test, m, r["samples_per_s"], r["wall_s"],
                                 r["peak_rss_mb"]))
    print("| data set | task | system | test | accuracy | class acc | roc_auc | macro_f1 "
          "| train samples/s | wall s | peak MB | samples/s vigil/peer | wall vigil/peer |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for ds, task, system, test, m, sps, wall, peak in rows:
        ratio_sps, ratio_wall = "", ""
        if not system.startswith("vigil") and isinstance(sps, float):
            ref = vigil_ref.get((ds, task, "autoencoder" if system == "torch-ae" else "mlp"))
            if ref and ref[0] and sps:
                ratio_sps = f"{ref[0] / sps:.2f}x"
            if ref and ref[1] and wall:
                ratio_wall = f"{ref[1] / wall:.2f}x"
        class_acc = fmt(class_accuracy(m)) if task == "multiclass" else ""
        print(f"| {ds} | {task} | {system} | {test} | {fmt(m.get('accuracy'))} | {class_acc} | "
              f"{fmt(m.get('roc_auc'))} | {fmt(m.get('macro_f1'))} | {fmt(sps, 0)} | "
              f"{fmt(wall, 1)} | {fmt(peak, 0)} | {ratio_sps} | {ratio_wall} |")
    print()
    print("accuracy: normal vs attack (attack score > 0.5); class acc: multiclass accuracy. "
          "Ratios compare vigil-mlp with rf, xgb and torch-mlp, and vigil-autoencoder with "
          "torch-ae, on the same data set and task. samples/s: training rows x epochs per "
          "second of training (rows per second for the tree models); wall: train + score, "
          "whole processes; peak MB: peak RSS of those processes.")


# ---- main --------------------------------------------------------------------------------------

def main(argv):
    if argv and argv[0] == "split":
        return split_mode(argv[1:])
    if argv and argv[0] == "table":
        return table_mode(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--format", required=True, choices=["nsl-kdd", "unsw-nb15"])
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", action="append", required=True,
                    help="a test file (repeatable), or split:F to hold out a fraction F of --train")
    ap.add_argument("--task", default="binary", choices=["binary", "multiclass"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--peers", default=",".join(ALL_PEERS))
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--json", default="")
    ap.add_argument("--worker", default="", help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if len(args.test) > 1 and any(t.startswith("split:") for t in args.test):
        raise SystemExit("--test split:F cannot be combined with other --test files")
    if args.worker:
        return worker(args)
    run_all(args, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
