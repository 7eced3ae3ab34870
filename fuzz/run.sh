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
for target in csv_fuzz bundle_fuzz logs_fuzz; do
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
  echo "fuzz: $target for ${seconds}s"
  status=0
  (cd build-fuzz && ./"$target" -max_total_time="$seconds" -print_final_stats=1 "corpus-$target" \
    > "$target.log" 2>&1) || status=$?
  tail -3 "build-fuzz/$target.log"
  [ "$status" = 0 ] || { echo "fuzz: $target failed (status $status), see build-fuzz/$target.log"; exit 1; }
done
echo "fuzz: no crashes"
