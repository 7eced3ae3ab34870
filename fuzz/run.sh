#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (standalone, no LibTorch) and runs each for SECONDS
# (default 15) from a seed corpus: a smoke run for CI, or a longer hunt by hand (fuzz/run.sh 600).
# Exits non-zero if a target finds a crash; the reproducer is left in build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
CXX=clang++ cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > build-fuzz.log 2>&1 ||
  { cat build-fuzz.log; exit 1; }
cmake --build build-fuzz >> build-fuzz.log 2>&1 || { tail -50 build-fuzz.log; exit 1; }
rm -f build-fuzz.log
for target in csv_fuzz bundle_fuzz flow_fuzz logs_fuzz; do
  corpus=build-fuzz/corpus-$target
  mkdir -p "$corpus"
  if [ "$target" = logs_fuzz ] && [ -d ../shared/data/loghub-2k ]; then
    # Seeds: a format spec line, then the first lines of a few loghub samples.
    { echo '<Date> <Time> <Pid> <Level> <Component>: <Content>'
      head -n 40 ../shared/data/loghub-2k/HDFS/HDFS_2k.log; } > "$corpus/seed-hdfs"
    { echo '<Month> <Date> <Time> <Level> <Component>: <Content>'
      head -n 40 ../shared/data/loghub-2k/Linux/Linux_2k.log; } > "$corpus/seed-linux"
    { echo '\[<Time>\] \[<Level>\] <Content>'
      head -n 40 ../shared/data/loghub-2k/Apache/Apache_2k.log; } > "$corpus/seed-apache"
  fi
  if [ "$target" = csv_fuzz ] && [ -d ../shared/data/nsl-kdd ]; then
    head -c 4000 ../shared/data/nsl-kdd/KDDTest-21.txt > "$corpus/seed-nsl"
    head -c 4000 ../shared/data/unsw-nb15/UNSW_NB15_dev.csv > "$corpus/seed-unsw" 2>/dev/null || true
  fi
  if [ "$target" = flow_fuzz ] && [ -d ../shared/data/pcap ] && command -v python3 > /dev/null; then
    # Seeds: the first frames of a few shared captures in the target's input format.
    python3 - "$corpus" ../shared/data/pcap <<'PY'
import os, struct, sys
corpus, root = sys.argv[1], sys.argv[2]
for dirpath, _, names in os.walk(root):
    for name in sorted(names):
        if not name.endswith(('.pcap', '.pcapng')):
            continue
        data = open(os.path.join(dirpath, name), 'rb').read(65536)
        out, pos = bytearray([0, 0x1F]), 24
        while pos + 16 <= len(data) and len(out) < 4000:
            caplen = struct.unpack_from('<I', data, pos + 8)[0]
            frame = data[pos + 16:pos + 16 + caplen]
            out += struct.pack('>HB', len(frame), 1) + frame
            pos += 16 + caplen
        open(os.path.join(corpus, 'seed-' + name), 'wb').write(out)
PY
  fi
  echo "fuzz: $target for ${seconds}s"
  status=0
  (cd build-fuzz && ./"$target" -max_total_time="$seconds" -print_final_stats=1 "corpus-$target" \
    > "$target.log" 2>&1) || status=$?
  tail -3 "build-fuzz/$target.log"
  [ "$status" = 0 ] || { echo "fuzz: $target failed (status $status), see build-fuzz/$target.log"; exit 1; }
done
echo "fuzz: no crashes"
