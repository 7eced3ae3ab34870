#!/usr/bin/env bash
# vigil capture against argus -r on the same captures, in the same run: packets/s, flows/s, peak
# memory. Prints one markdown table, then the memory per 100k concurrent flows.
#
#   bench/flow_vs_argus.sh                 # shared pcaps + two generated captures of >= 10 M packets
#   bench/flow_vs_argus.sh --quick         # shared pcaps and a 1 M-packet capture only
#   bench/flow_vs_argus.sh --runs 3 --keep # best of 3 runs; keep the generated captures
#   bench/flow_vs_argus.sh --big-only      # only the generated captures and the memory check
#
# Generated captures go to $TMPDIR/vigil-flow-bench (removed at the end unless --keep):
#   synflood-xN: ../shared/data/pcap/.../pkt.TCP.synflood.spoofed.pcap repeated N times, each copy
#                shifted by the capture's length plus one second (same 5-tuples: flows continue);
#   mixed-xN:    every shared Ethernet capture one after the other, repeated N times.
# Argus runs twice: as the issue times it (`argus -r FILE -w OUT`, the system argus.conf: 5 s
# status interval, no jitter) and with the settings that give vigil's columns (`-S 60 -J`); the
# speed-up is against the faster of the two. Argus's run time includes an idle exit timer (it
# rounds up to whole seconds), so the 10 M-packet captures give the fairest ratio. (`vigil`
# loads no LibTorch since the training commands moved to `vigil-train`; before that, start-up
# cost vigil about 0.7 CPU-s per file.) Runs of the two tools alternate, best of --runs each.
# Needs: build/vigil (or $VIGIL_BIN), argus + ra (Debian argus-server, argus-client), python3,
# /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
VIGIL=${VIGIL_BIN:-build/vigil}
DATA=${VIGIL_DATA:-../shared/data}/pcap
RUNS=1
QUICK=0
KEEP=0
BIG_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --big-only) BIG_ONLY=1; shift ;;
    --keep) KEEP=1; shift ;;
    *) echo "usage: $0 [--runs N] [--quick] [--big-only] [--keep]" >&2; exit 2 ;;
  esac
done
for tool in "$VIGIL" argus python3 /usr/bin/time; do
  command -v "$tool" > /dev/null || { echo "missing: $tool" >&2; exit 1; }
done
[ -d "$DATA" ] || { echo "no captures in $DATA" >&2; exit 1; }
WORK=${TMPDIR:-/tmp}/vigil-flow-bench
mkdir -p "$WORK"
[ "$KEEP" = 1 ] || trap 'rm -rf "$WORK"' EXIT

# gen.py repeat OUT COUNT IN...: IN files one after the other, COUNT times, timestamps moved so
# each copy starts one second after the previous one ended.
cat > "$WORK/gen.py" <<'PY'
import struct, sys
def records(path):
    data = open(path, 'rb').read()
    magic, = struct.unpack_from('<I', data, 0)
    if magic != 0xa1b2c3d4 or struct.unpack_from('<I', data, 20)[0] != 1:
        return None  # classic little-endian microsecond Ethernet only
    out, pos = [], 24
    while pos + 16 <= len(data):
        sec, usec, caplen, wire = struct.unpack_from('<IIII', data, pos)
        out.append((sec * 1000000 + usec, wire, data[pos + 16:pos + 16 + caplen]))
        pos += 16 + caplen
    return out
if sys.argv[1] == 'repeat':
    out, count, paths = sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    parts = [r for r in (records(p) for p in paths) if r]
    with open(out, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
        t = 1600000000 * 1000000
        for _ in range(count):
            for recs in parts:
                base = recs[0][0]
                chunks = []
                for ts, wire, frame in recs:
                    u = t + ts - base
                    chunks.append(struct.pack('<IIII', u // 1000000, u % 1000000, len(frame), wire))
                    chunks.append(frame)
                f.write(b''.join(chunks))
                t += recs[-1][0] - base + 1000000
elif sys.argv[1] == 'concurrent':
    # N UDP flows that are all open at once: one packet each within one second.
    out, n = sys.argv[2], int(sys.argv[3])
    with open(out, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
        for i in range(n):
            ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 28, 1, 0, 64, 17, 0,
                             bytes([10, (i >> 16) & 255, (i >> 8) & 255, i & 255]), bytes([10, 255, 0, 1]))
            frame = b'\0\1\2\3\4\5\0\1\2\3\4\6\x08\x00' + ip + struct.pack('!HHHH', 1024 + i % 50000, 53, 8, 0)
            u = 1600000000 * 1000000 + i * (1000000 // n)
            f.write(struct.pack('<IIII', u // 1000000, u % 1000000, len(frame), len(frame)) + frame)
PY

# Runs "$@" RUNS times; prints the best wall time, its peak RSS (KiB) and its CPU time (s).
best_of() {
  local best="" rss="" cpu=""
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M %U %S" -o "$WORK/time" "$@" > /dev/null 2>&1
    read -r t m u s < "$WORK/time"
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then
      best=$t; rss=$m; cpu=$(awk "BEGIN{print $u + $s}")
    fi
  done
  echo "$best $rss $cpu"
}


echo "| capture | packets | flows (vigil) | vigil s (CPU s) | vigil Mpkt/s | vigil kflows/s | vigil RSS MiB | argus s (CPU s) | argus -S 60 -J s (CPU s) | argus Mpkt/s (faster) | argus RSS MiB | speed-up wall (CPU) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
row() {
  local pcap=$1 name=$2 n
  n=$(python3 -c "
import struct,sys
d=open(sys.argv[1],'rb'); d.read(24); n=0
while True:
    h=d.read(16)
    if len(h)<16: break
    d.seek(struct.unpack('<IIII',h)[2],1); n+=1
print(n)" "$pcap")
  local vt="" vm vc at="" am ac bt="" bm bc t m c
  for _ in $(seq "$RUNS"); do  # alternate the tools so load changes hit both
    read -r t m c < <(RUNS=1 best_of "$VIGIL" capture --pcap "$pcap" --output "$WORK/out.csv" --quiet)
    if [ -z "$vt" ] || awk "BEGIN{exit !($t < $vt)}"; then vt=$t; vm=$m; vc=$c; fi
    read -r t m c < <(RUNS=1 best_of argus -r "$pcap" -w "$WORK/out.argus")
    if [ -z "$at" ] || awk "BEGIN{exit !($t < $at)}"; then at=$t; am=$m; ac=$c; fi
    read -r t m c < <(RUNS=1 best_of argus -r "$pcap" -w "$WORK/out.argus" -S 60 -J)
    if [ -z "$bt" ] || awk "BEGIN{exit !($t < $bt)}"; then bt=$t; bm=$m; bc=$c; fi
  done
  local flows=$(($(wc -l < "$WORK/out.csv") - 1))
  awk -v name="$name" -v n="$n" -v f="$flows" -v vt="$vt" -v vm="$vm" -v vc="$vc" -v at="$at" \
      -v am="$am" -v ac="$ac" -v bt="$bt" -v bm="$bm" -v bc="$bc" 'BEGIN{
    vt = vt > 0 ? vt : 0.01; at = at > 0 ? at : 0.01; bt = bt > 0 ? bt : 0.01;
    vc = vc > 0 ? vc : 0.01;
    fast = at < bt ? at : bt; fastc = at < bt ? ac : bc; rss = am > bm ? am : bm;
    printf "| %s | %d | %d | %.2f (%.2f) | %.2f | %.1f | %.0f | %.2f (%.2f) | %.2f (%.2f) | %.2f | %.0f | %.1fx (%.1fx) |\n",
      name, n, f, vt, vc, n/vt/1e6, f/vt/1e3, vm/1024, at, ac, bt, bc, n/fast/1e6, rss/1024,
      fast/vt, fastc/vc }'
}

if [ "$BIG_ONLY" = 0 ]; then
  while IFS= read -r pcap; do
    row "$pcap" "$(basename "$pcap")"
  done < <(find "$DATA" -name '*.pcap*' | sort)
fi

SYN=$(find "$DATA" -name 'pkt.TCP.synflood.spoofed.pcap' | head -1)
if [ "$QUICK" = 1 ]; then
  python3 "$WORK/gen.py" repeat "$WORK/synflood-x27.pcap" 27 "$SYN"
  row "$WORK/synflood-x27.pcap" "synflood x27 (generated)"
else
  python3 "$WORK/gen.py" repeat "$WORK/synflood-x300.pcap" 300 "$SYN"
  row "$WORK/synflood-x300.pcap" "synflood x300 (generated)"
  rm -f "$WORK/synflood-x300.pcap"
  mapfile -t ALL < <(find "$DATA" -name '*.pcap*' | sort)
  python3 "$WORK/gen.py" repeat "$WORK/mixed-x125.pcap" 125 "${ALL[@]}"
  row "$WORK/mixed-x125.pcap" "all shared pcaps x125 (generated)"
  rm -f "$WORK/mixed-x125.pcap"
fi

# Memory per 100k concurrent flows: peak RSS with 200k open flows minus that with 100k.
for n in 100000 200000; do
  python3 "$WORK/gen.py" concurrent "$WORK/c$n.pcap" "$n"
done
read -r _ v1 _ < <(best_of "$VIGIL" capture --pcap "$WORK/c100000.pcap" --output "$WORK/o.csv" --quiet)
read -r _ v2 _ < <(best_of "$VIGIL" capture --pcap "$WORK/c200000.pcap" --output "$WORK/o.csv" --quiet)
read -r _ a1 _ < <(best_of argus -r "$WORK/c100000.pcap" -w "$WORK/o.argus")
read -r _ a2 _ < <(best_of argus -r "$WORK/c200000.pcap" -w "$WORK/o.argus")
awk -v v1="$v1" -v v2="$v2" -v a1="$a1" -v a2="$a2" 'BEGIN{
  printf "\nmemory per 100k concurrent flows: vigil %.1f MiB (peak %.0f MiB at 100k, %.0f MiB at 200k), argus %.1f MiB (peak %.0f / %.0f MiB)\n",
    (v2-v1)/1024, v1/1024, v2/1024, (a2-a1)/1024, a1/1024, a2/1024 }'
