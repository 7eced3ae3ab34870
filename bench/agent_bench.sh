#!/usr/bin/env bash
# Detection-plane benchmark (issue 3): one model, one machine, one run.
#   1. Engines: `vigil bench score` times vigil's inference engine (what vigil-agent runs) and
#      LibTorch (what vigil predict runs) on the same preprocessed records, then bench/score_peer.py
#      times PyTorch in Python on the same rows: records/s, p50/p99 latency per record, batch 1 and
#      256, 1 and 2 threads.
#   2. End to end: vigil-agent and vigil predict on the whole test file (parse, preprocess, score,
#      write), records/s and peak RSS.
#   3. Start-up: wall time of vigil-agent loading the model and exiting on an empty input, and its
#      own "ready in" figure; RSS while scoring.
#
#   bench/agent_bench.sh [--data DIR] [--keep DIR] [--min-seconds S]
# Needs build/vigil and build/vigil-agent (scripts/setup) and, for the Python peer, Debian's
# python3-torch (scripts/setup --bench). Prints markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${VIGIL_DATA:-../shared/data}
keep=""
min_seconds=1
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --min-seconds) min_seconds=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "agent_bench: unknown option $1" >&2; exit 2 ;;
  esac
done
train=$data/nsl-kdd/KDDTrain+_20Percent.txt
test=$data/nsl-kdd/KDDTest+.txt
[ -f "$train" ] || { echo "agent_bench: $train not found (--data DIR)" >&2; exit 1; }
work=${keep:-$(mktemp -d)}
mkdir -p "$work"
[ -n "$keep" ] || trap 'rm -rf "$work"' EXIT
vigil=build/vigil
agent=build/vigil-agent

echo "## vigil-agent benchmark ($(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
echo
$vigil train --quiet --threads 1 --epochs 3 --format nsl-kdd --train "$train" --out "$work/mlp.vigil" >/dev/null
echo "Model: vigil mlp (hidden 256, 256) trained on KDDTrain+_20Percent; records: KDDTest+."
echo
echo "### Engines (same process, same preprocessed rows)"
echo
$vigil bench score --model "$work/mlp.vigil" --input "$test" --min-seconds "$min_seconds" \
  --features-out "$work/features.f32" --json "$work/engines.json" | tail -n +3
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 bench/score_peer.py "$work/mlp.vigil" "$work/features.f32" \
    --min-seconds "$min_seconds" --json "$work/pytorch.json"
else
  echo "| pytorch (python) | - | - | not measured: /usr/bin/python3 has no torch (scripts/setup --bench) | | |"
fi
echo
echo "### End to end (whole file: parse, preprocess, score, write JSON lines)"
echo
echo "| command | batch | records/s | wall s | peak RSS MB |"
echo "|---|---|---|---|---|"
for b in 1 256; do
  /usr/bin/time -f "%e %M" -o "$work/time" $agent --model "$work/mlp.vigil" --input "$test" \
    --batch-max $b --scores "$work/scores.jsonl" --alerts "$work/alerts.jsonl" 2> "$work/agent.err"
  read -r wall rss < <(tail -1 "$work/time")
  rate=$(grep -o '([0-9]* records/s)' "$work/agent.err" | tr -dc 0-9)
  echo "| vigil-agent --batch-max $b | $b | $rate | $wall | $((rss / 1024)) |"
  /usr/bin/time -f "%e %M" -o "$work/time" $vigil predict --threads 1 --model "$work/mlp.vigil" \
    --input "$test" --batch $b --output "$work/predict.jsonl" 2> "$work/predict.err"
  read -r wall rss < <(tail -1 "$work/time")
  rate=$(grep -o 'batch [0-9]*: [0-9]* records/s' "$work/predict.err" | awk '{print $3}')
  echo "| vigil predict --batch $b (scoring only) | $b | $rate | $wall | $((rss / 1024)) |"
done
echo
echo "### Start-up"
echo
walls=()
for i in 1 2 3 4 5 6 7; do
  /usr/bin/time -f "%e %M" -o "$work/time" $agent --model "$work/mlp.vigil" --input /dev/null 2> "$work/start.err"
  read -r wall rss < <(tail -1 "$work/time")
  walls+=("$wall")
done
median=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n 4p)
ready=$(grep -o 'ready in [0-9.]* ms' "$work/start.err")
/usr/bin/time -f "%e %M" -o "$work/time" $vigil inspect "$work/mlp.vigil" > /dev/null
read -r vwall vrss < <(tail -1 "$work/time")
echo "| | vigil-agent | vigil (LibTorch) inspect |"
echo "|---|---|---|"
echo "| process start to exit with the model loaded, median of 7 (s) | $median | $vwall |"
echo "| peak RSS at start-up (MB) | $((rss / 1024)) | $((vrss / 1024)) |"
echo "| agent's own figure | $ready | |"
