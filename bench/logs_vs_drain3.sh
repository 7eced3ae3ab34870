#!/usr/bin/env bash
# vigil's template miner against Drain3 (Python) on the same input, in the same run: lines/s and
# peak memory (MB per million lines). Prints one markdown table.
#
#   bench/logs_vs_drain3.sh                  # 1,000,000 lines: 50 copies of the 10 loghub samples
#   bench/logs_vs_drain3.sh --copies 100     # 2,000,000 lines
#   bench/logs_vs_drain3.sh --runs 3 --keep  # best of 3 runs; keep the generated input
#   bench/logs_vs_drain3.sh --drain3-ini Drain3/examples/drain3.ini  # Drain3 configured by that file
#
# Input: every line of ../shared/data/loghub-2k/<S>/<S>_2k.log (line ends made LF), the systems one
# after the other, the whole repeated --copies times, in $TMPDIR/vigil-logs-bench. Both tools get
# whole lines: vigil with --format '<Content>' and its default masks, Drain3 with its default
# TemplateMiner configuration (no masking), or with the configuration file given by --drain3-ini
# (Drain3's examples/drain3.ini holds its suggested masks: IPs, numbers, hex, IDs, sequences),
# profiling turned off either way. vigil's time is its mining pass (reading the file in chunks,
# matching, masking, mining; not the structured CSV it writes after); Drain3's is the
# add_log_message loop over lines already in memory. Memory per million lines is the peak RSS above
# the process's baseline (vigil --version; python3 -c 'import drain3').
# Needs: build/vigil (or $VIGIL_BIN), /usr/bin/time. Drain3 runs only when Debian's /usr/bin/python3
# can import drain3 (PYTHONPATH is honoured; Drain3 needs python3-jsonpickle and
# python3-cachetools); otherwise its row says so.
set -euo pipefail
cd "$(dirname "$0")/.."
VIGIL=${VIGIL_BIN:-build/vigil}
DATA=${VIGIL_DATA:-../shared/data}/loghub-2k
COPIES=50
RUNS=1
KEEP=0
DRAIN3_INI=
while [ $# -gt 0 ]; do
  case "$1" in
    --copies) COPIES=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --drain3-ini) DRAIN3_INI=$(realpath "$2"); shift 2 ;;
    *) echo "usage: $0 [--copies N] [--runs N] [--keep] [--drain3-ini FILE]" >&2; exit 2 ;;
  esac
done
[ -x "$VIGIL" ] || { echo "no $VIGIL: build it first (or set VIGIL_BIN)" >&2; exit 1; }
[ -d "$DATA" ] || { echo "no loghub data in $DATA" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package time)" >&2; exit 1; }
[ -z "$DRAIN3_INI" ] || [ -f "$DRAIN3_INI" ] || { echo "no such file: $DRAIN3_INI" >&2; exit 1; }

WORK=${TMPDIR:-/tmp}/vigil-logs-bench
mkdir -p "$WORK"
[ "$KEEP" = 1 ] || trap 'rm -rf "$WORK"' EXIT
INPUT=$WORK/loghub-x$COPIES.log
if [ ! -s "$INPUT" ]; then
  one=$WORK/loghub-all.log
  for f in "$DATA"/*/*_2k.log; do tr -d '\r' < "$f" | sed -e '$a\'; done > "$one"
  for _ in $(seq "$COPIES"); do cat "$one"; done > "$INPUT"
fi
LINES=$(wc -l < "$INPUT")
MB=$(( $(stat -c %s "$INPUT") / 1048576 ))

# Drain3's side: the same lines through TemplateMiner.add_log_message, timed around the loop. It
# prints its result in the words vigil uses, so that one pattern reads both.
cat > "$WORK/drain3_run.py" <<'PY'
import sys, time
from drain3 import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig
config = TemplateMinerConfig()  # the defaults; not a drain3.ini that happens to be in the cwd
if len(sys.argv) > 2:
    config.load(sys.argv[2])
config.profiling_enabled = False
miner = TemplateMiner(config=config)
with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
    lines = [l.rstrip("\n") for l in f]
start = time.perf_counter()
for line in lines:
    miner.add_log_message(line)
seconds = time.perf_counter() - start
print(f"parsed {len(lines)} lines in {seconds:.3f} s (drain3), {len(miner.drain.clusters)} templates")
PY

# run_timed COMMAND...: best of RUNS; prints "seconds peak_kb templates" of the fastest run.
run_timed() {
  local best_s="" best_kb="" best_t=""
  for _ in $(seq "$RUNS"); do
    rm -rf "$WORK/out"
    /usr/bin/time -f "%M" -o "$WORK/time.txt" "$@" > "$WORK/out.txt" 2>&1 || {
      cat "$WORK/out.txt" >&2
      return 1
    }
    local s kb t
    s=$(sed -n 's/.* in \([0-9.]*\) s (.*/\1/p' "$WORK/out.txt" | tail -1)
    t=$(sed -n 's/.*, \([0-9]*\) templates.*/\1/p' "$WORK/out.txt" | tail -1)
    kb=$(tail -1 "$WORK/time.txt")
    if [ -z "$best_s" ] || awk "BEGIN{exit !($s < $best_s)}"; then
      best_s=$s best_kb=$kb best_t=$t
    fi
  done
  echo "$best_s $best_kb $best_t"
}

row() {  # name seconds peak_kb baseline_kb templates
  awk -v n="$1" -v s="$2" -v kb="$3" -v base="$4" -v t="$5" -v lines="$LINES" 'BEGIN {
    printf "| %s | %d | %.2f | %.0f | %.0f | %.0f | %.1f | %s |\n", n, lines, s, lines / s,
           kb / 1024, base / 1024, (kb - base) / 1024 / (lines / 1e6), t }'
}

# The memory a process has before it parses anything (Python loads drain3).
baseline_kb() {
  /usr/bin/time -f "%M" -o "$WORK/time.txt" "$@" > /dev/null 2>&1 || true
  tail -1 "$WORK/time.txt"
}

echo "input: $INPUT ($LINES lines, $MB MB; $COPIES copies of the loghub 2k samples)"
echo
echo "| tool | lines | seconds | lines/s | peak RSS (MB) | baseline RSS (MB) | MB per million lines (peak - baseline) | templates |"
echo "|---|---|---|---|---|---|---|---|"
read -r vs vkb vt < <(run_timed "$VIGIL" logs parse --format '<Content>' --input "$INPUT" \
  --out "$WORK/out")
row "vigil logs parse" "$vs" "$vkb" "$(baseline_kb "$VIGIL" --version)" "$vt"
if /usr/bin/python3 -c 'import drain3' 2> /dev/null; then
  read -r ds dkb dt < <(run_timed /usr/bin/python3 "$WORK/drain3_run.py" "$INPUT" ${DRAIN3_INI:+"$DRAIN3_INI"})
  name="Drain3 (Python, default configuration)"
  [ -z "$DRAIN3_INI" ] || name="Drain3 (Python, $(basename "$DRAIN3_INI"))"
  row "$name" "$ds" "$dkb" "$(baseline_kb /usr/bin/python3 -c 'import drain3')" "$dt"
  awk -v a="$ds" -v b="$vs" 'BEGIN { printf "\nvigil / Drain3 lines/s: %.1fx\n", a / b }'
else
  echo "| Drain3 (Python) | - | - | - | - | - | - | not installed: /usr/bin/python3 cannot import drain3 |"
fi
echo
echo "vigil streams the input (1 MiB chunks); its baseline is the binary's own (LibTorch is linked)."
