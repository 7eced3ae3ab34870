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
for target in csv_fuzz bundle_fuzz flow_fuzz logs_fuzz metrics_fuzz syslog_fuzz forward_fuzz; do
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
  if [ "$target" = metrics_fuzz ]; then
    # Seeds: Telegraf-style line protocol (precision s) and a Prometheus exposition.
    printf '\006cpu,host=a,cpu=cpu0 usage_idle=98.5,usage_user=1.2 1700000000\nmem,host=a used=12i,ok=t,msg="x \\"y\\"" 1700000010\nmy\\ m,k=a\\,b f\\ k=1u\n' \
      > "$corpus/seed-lp"
    printf '\001# HELP up ok\n# TYPE up gauge\nup{job="a",path="x\\"y"} 1 1700000000000\nreqs_total 1.5e3\ntemp -Inf\n' \
      > "$corpus/seed-prom"
    if [ -d ../shared/data/nab/data/realKnownCause ]; then
      # (awk reads the whole file: `head` would end the pipe early, and pipefail would stop us.)
      { printf '\006'; awk -F, 'NR > 1 && NR <= 301 {
          print "taxi,city=nyc passengers=" $2 " " 1400000000 + NR * 1800 }' \
          ../shared/data/nab/data/realKnownCause/nyc_taxi.csv; } \
        > "$corpus/seed-nab"
    fi
  fi
  if [ "$target" = syslog_fuzz ]; then
    # Seeds (the first three bytes also pick the frame limit and split points): RFC 5424 with
    # octet counting, RFC 3164 with newline framing, as logger(1) sends them.
    printf '\x3f\x05\x30<13>1 2026-11-29T12:00:00.1+00:00 vm hdfs - - [timeQuality tzKnown="1" isSynced="0"] a b\n93 <13>1 - vm hdfs - - - 081109 203615 148 INFO dfs.DataNode: blk_1\n' \
      > "$corpus/seed-5424"
    printf '<34>Oct 11 22:14:15 mymachine su[230]: su root failed\n<13>Nov  9 08:01:02 kernel: up\n' \
      > "$corpus/seed-3164"
  fi
  if [ "$target" = forward_fuzz ]; then
    # Seeds: Message mode, Forward with a chunk option and an EventTime, PackedForward, and
    # CompressedPackedForward (gzip from gzip(1)); the first byte also picks a split point.
    entry='\x92\x01\x81\xa3log\xa1x'
    printf '\x93\xa1t\x01\x81\xa3log\xa3one' > "$corpus/seed-message"
    printf '\x93\xa1t\x92\x92\xd7\x00\x65\x53\xf1\x00\x00\x00\x00\x01\x81\xa3log\xa1a\x92\x02\x81\xa7message\xa1b\x81\xa5chunk\xa2c1' \
      > "$corpus/seed-forward"
    printf "\\x93\\xa1t\\xc4\\x12$entry$entry\\x81\\xa5chunk\\xa2c2" > "$corpus/seed-packed"
    gz=$(printf "$entry$entry" | gzip -c | od -An -v -tx1 | tr -d ' \n' | sed 's/../\\x&/g')
    len=$(printf "$entry$entry" | gzip -c | wc -c)
    printf "\\x93\\xa1t\\xc4\\x$(printf %02x "$len")$gz\\x82\\xa5chunk\\xa2c3\\xaacompressed\\xa4gzip" \
      > "$corpus/seed-gzip"
  fi
  echo "fuzz: $target for ${seconds}s"
  status=0
  (cd build-fuzz && ./"$target" -max_total_time="$seconds" -print_final_stats=1 "corpus-$target" \
    > "$target.log" 2>&1) || status=$?
  tail -3 "build-fuzz/$target.log"
  [ "$status" = 0 ] || { echo "fuzz: $target failed (status $status), see build-fuzz/$target.log"; exit 1; }
done
echo "fuzz: no crashes"
