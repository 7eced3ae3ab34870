#!/usr/bin/env bash
# Runs vigil and its peers (scikit-learn RF, XGBoost, PyTorch MLP and autoencoder) on the public
# benchmark data with the same files, preprocessing and validation protocol, and prints one
# markdown table with accuracy, ROC-AUC, macro-F1, training throughput, wall time, peak RSS and
# vigil/peer ratios. See bench/README.md.
#
# Usage: bench/run_peers.sh [--quick] [--threads N] [--epochs E] [--batch-size B] [--seed S]
#                           [--only nsl-kdd|unsw-nb15] [--keep DIR]
#   --quick   KDDTrain+_20Percent instead of KDDTrain+, and 3 epochs
#   --keep    write the run files (models, reports, logs, peer JSON) to DIR and keep them
# Environment: VIGIL_DATA (default ../shared/data from the project root), VIGIL_BIN (default
# build/vigil). Python: Debian's /usr/bin/python3 only.
set -euo pipefail
export LC_ALL=C TZ=UTC

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
PEERS="$ROOT/bench/peers.py"
VIGIL=${VIGIL_BIN:-$ROOT/build/vigil}
DATA=${VIGIL_DATA:-$ROOT/../shared/data}
QUICK=0
THREADS=$(nproc)
EPOCHS=""
BATCH=256
SEED=1
ONLY=""
KEEP=""

while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --threads) THREADS=$2; shift ;;
    --epochs) EPOCHS=$2; shift ;;
    --batch-size) BATCH=$2; shift ;;
    --seed) SEED=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --keep) KEEP=$2; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "run_peers.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ -z "$EPOCHS" ]]; then
  if [[ $QUICK == 1 ]]; then EPOCHS=3; else EPOCHS=10; fi
fi

if [[ ! -x $PY ]]; then
  echo "run_peers.sh: $PY not found (Debian python3 with python3-torch, -sklearn, -xgboost)" >&2
  exit 1
fi
if [[ -n "$KEEP" ]]; then
  mkdir -p "$KEEP"
  WORK=$(cd "$KEEP" && pwd)
else
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/vigil_peers.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
fi
MANIFEST="$WORK/manifest.tsv"
: > "$MANIFEST"

HAVE_VIGIL=1
if [[ ! -x "$VIGIL" ]]; then
  echo "run_peers.sh: $VIGIL not found: build it (cmake --build build --target vigil);" \
    "running the peers only" >&2
  HAVE_VIGIL=0
fi

log() { echo "run_peers.sh: $*" >&2; }

# run_vigil DATASET TASK MODEL FORMAT TRAIN_FILE TEST_FILE...
run_vigil() {
  local ds=$1 task=$2 model=$3 format=$4 train=$5
  shift 5
  [[ $HAVE_VIGIL == 1 ]] || return 0
  local tag="vigil.$ds.$task.$model"
  log "vigil $model on $ds ($task): training"
  if ! /usr/bin/time -v -o "$WORK/$tag.train.time" "$VIGIL" train --format "$format" \
      --train "$train" --model "$model" --task "$task" --epochs "$EPOCHS" --batch-size "$BATCH" \
      --threads "$THREADS" --seed "$SEED" --out "$WORK/$tag.vigil" > "$WORK/$tag.train.out" \
      2> "$WORK/$tag.train.log"; then
    log "vigil train failed; last lines of its log:"
    tail -n 5 "$WORK/$tag.train.log" >&2
    printf 'vigil-failed\t%s\t%s\t%s\n' "$ds" "$task" "$model" >> "$MANIFEST"
    return 0
  fi
  grep '^train:' "$WORK/$tag.train.log" | tail -n 1 >&2 || true
  local line specs=() test name
  for test in "$@"; do
    name=$(basename "$test")
    if /usr/bin/time -v -o "$WORK/$tag.$name.time" "$VIGIL" eval --model "$WORK/$tag.vigil" \
        --format "$format" --test "$test" --report "$WORK/$tag.$name.json" \
        > "$WORK/$tag.$name.out" 2> "$WORK/$tag.$name.log"; then
      specs+=("$name=$WORK/$tag.$name.json=$WORK/$tag.$name.time")
    else
      log "vigil eval on $name failed:"
      tail -n 5 "$WORK/$tag.$name.log" >&2
      specs+=("$name=$WORK/missing.json=$WORK/$tag.$name.time")
    fi
  done
  line=$(printf '%s\t' vigil "$ds" "$task" "$model" "$WORK/$tag.train.log" \
    "$WORK/$tag.train.time" "${specs[@]}")
  printf '%s\n' "${line%$'\t'}" >> "$MANIFEST"
}

# run_peers DATASET TASK PEERS FORMAT TRAIN_FILE TEST_FILE...
run_peers() {
  local ds=$1 task=$2 peers=$3 format=$4 train=$5
  shift 5
  local tests=() t out="$WORK/peers.$ds.$task.json"
  for t in "$@"; do tests+=(--test "$t"); done
  log "peers $peers on $ds ($task)"
  if ! "$PY" "$PEERS" --format "$format" --train "$train" "${tests[@]}" --task "$task" \
      --threads "$THREADS" --seed "$SEED" --peers "$peers" --epochs "$EPOCHS" \
      --batch-size "$BATCH" --json "$out"; then
    log "peers on $ds ($task) failed"
  fi
  printf 'peers\t%s\t%s\t%s\n' "$ds" "$task" "$out" >> "$MANIFEST"
}

if [[ -z "$ONLY" || "$ONLY" == nsl-kdd ]]; then
  NSL="$DATA/nsl-kdd"
  TRAIN="$NSL/KDDTrain+.txt"
  [[ $QUICK == 1 ]] && TRAIN="$NSL/KDDTrain+_20Percent.txt"
  if [[ -f "$TRAIN" && -f "$NSL/KDDTest+.txt" && -f "$NSL/KDDTest-21.txt" ]]; then
    for model in mlp autoencoder; do
      run_vigil nsl-kdd binary "$model" nsl-kdd "$TRAIN" "$NSL/KDDTest+.txt" "$NSL/KDDTest-21.txt"
    done
    run_peers nsl-kdd binary rf,xgb,torch-mlp,torch-ae nsl-kdd "$TRAIN" \
      "$NSL/KDDTest+.txt" "$NSL/KDDTest-21.txt"
  else
    log "NSL-KDD files not found in $NSL (set VIGIL_DATA, or run: vigil data fetch nsl-kdd)"
  fi
fi

if [[ -z "$ONLY" || "$ONLY" == unsw-nb15 ]]; then
  DEV="$DATA/unsw-nb15/UNSW_NB15_dev.csv"
  if [[ -f "$DEV" ]]; then
    # One class-stratified 80/20 hold-out, written once, read by vigil and the peers alike.
    "$PY" "$PEERS" split --format unsw-nb15 --input "$DEV" --fraction 0.2 --seed "$SEED" \
      --out-dir "$WORK/unsw-split"
    UTRAIN="$WORK/unsw-split/train.csv"
    UTEST="$WORK/unsw-split/test.csv"
    for model in mlp autoencoder; do
      run_vigil unsw-nb15 binary "$model" unsw-nb15 "$UTRAIN" "$UTEST"
    done
    run_peers unsw-nb15 binary rf,xgb,torch-mlp,torch-ae unsw-nb15 "$UTRAIN" "$UTEST"
    run_vigil unsw-nb15 multiclass mlp unsw-nb15 "$UTRAIN" "$UTEST"
    run_peers unsw-nb15 multiclass rf,xgb,torch-mlp unsw-nb15 "$UTRAIN" "$UTEST"
  else
    log "UNSW-NB15 dev file not found at $DEV (set VIGIL_DATA)"
  fi
fi

echo
MODE=""
[[ $QUICK == 1 ]] && MODE=", quick"
echo "threads $THREADS, epochs $EPOCHS, batch $BATCH, seed $SEED$MODE"
echo
"$PY" "$PEERS" table --manifest "$MANIFEST"
