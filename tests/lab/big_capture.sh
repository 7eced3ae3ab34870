#!/usr/bin/env bash
# A large capture of mixed traffic for timing the flow meter (bench/flow_vs_argus.sh).
#
#   tests/lab/big_capture.sh OUT.pcap [--scale K] [--snaplen N]
#
# Three network namespaces on a bridge (srv 10.232.0.10, cli 10.232.0.21, atk 10.232.0.66; veth
# pairs with offloads off, like tests/lab/run_lab.sh), everything at once for up to 90 s:
#   benign  HTTP downloads of a 32 MB file (3 x 24 K), single-connection page fetches (curl with
#           300 URLs per process, busybox httpd closes every connection: 8 K x 2400 flows),
#           DNS queries (dig -f, 4 x 2500 K), all to srv
#   attack  nmap SYN scan of all 65535 ports (twice), two hping3 SYN floods to :80 (--flood for
#           8 x K seconds, 10 s in) and UDP flood to :53 (50,000 K datagrams, 20 us apart), from atk
# K is --scale (default 1: a few million packets). Every generator is bounded by a count or a
# timeout (hping3 --flood by timeout alone: it ignores -c); tcpdump stops at 4 M x K packets.
# Frames are cut at --snaplen bytes (default 128: the headers; the wire length stays in the
# record), so the file stays at about 150 bytes a packet.
# Needs root, iproute2, ethtool, tcpdump, busybox, dnsmasq, dig, curl, nmap, hping3.
set -euo pipefail

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
OUTFILE=$1
shift
SCALE=1
SNAPLEN=128
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) SCALE=${2:?}; shift 2 ;;
    --snaplen) SNAPLEN=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "big_capture: unknown option '$1'" >&2; usage ;;
  esac
done
[[ "$SCALE" =~ ^[1-4]$ ]] || { echo "big_capture: --scale must be 1..4" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "big_capture: needs root (network namespaces)" >&2; exit 3; }
for tool in ip ethtool tcpdump busybox dnsmasq dig curl nmap hping3 timeout; do
  command -v "$tool" > /dev/null || { echo "big_capture: missing $tool (scripts/setup)" >&2; exit 3; }
done

mkdir -p "$(dirname "$OUTFILE")"
OUTFILE=$(cd "$(dirname "$OUTFILE")" && pwd)/$(basename "$OUTFILE")
ID=vb$$$(printf '%04x' $((RANDOM % 65536)))
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vigil-bigcap-$ID.XXXXXX")
chmod 755 "$WORK"
HOSTS=(srv cli atk)
declare -A ADDR=([srv]=10.232.0.10 [cli]=10.232.0.21 [atk]=10.232.0.66)
SRV=${ADDR[srv]}
NAMESPACES=()
ns() { echo "$ID-$1"; }
in_ns() { local h=$1; shift; ip netns exec "$(ns "$h")" "$@"; }
log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

cleanup() {
  local rc=$? n pid
  trap - EXIT INT TERM
  set +e
  for n in "${NAMESPACES[@]}"; do
    for pid in $(ip netns pids "$n" 2> /dev/null); do kill "$pid" 2> /dev/null; done
  done
  sleep 0.5
  for n in "${NAMESPACES[@]}"; do
    for pid in $(ip netns pids "$n" 2> /dev/null); do kill -9 "$pid" 2> /dev/null; done
  done
  wait 2> /dev/null
  for n in "${NAMESPACES[@]}"; do ip netns del "$n" 2> /dev/null; done
  rm -rf "$WORK"
  [ "$rc" = 0 ] || echo "big_capture: failed (exit $rc)" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for n in sw "${HOSTS[@]}"; do
  ip netns add "$(ns "$n")"
  NAMESPACES+=("$(ns "$n")")
  in_ns "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  in_ns "$n" ip link set lo up
done
in_ns sw ip link add br0 type bridge stp_state 0 forward_delay 0
in_ns sw ip link set br0 up
for h in "${HOSTS[@]}"; do
  in_ns sw ip link add "p-$h" type veth peer name eth0 netns "$(ns "$h")"
  in_ns sw ip link set "p-$h" master br0
  in_ns sw ethtool -K "p-$h" tso off gso off gro off tx off rx off > /dev/null 2>&1 || true
  in_ns "$h" ethtool -K eth0 tso off gso off gro off tx off rx off > /dev/null 2>&1 || true
  in_ns "$h" ip addr add "${ADDR[$h]}/24" dev eth0
  in_ns sw ip link set "p-$h" up
  in_ns "$h" ip link set eth0 up
done
# The SYN flood fills srv's backlog: answer with cookies, like a defended server.
in_ns srv sysctl -qw net.ipv4.tcp_syncookies=1

mkdir -p "$WORK/www"
for i in $(seq 1 20); do head -c $((300 + i * 500)) /dev/zero | tr '\0' 'x' > "$WORK/www/p$i.html"; done
head -c $((32 * 1024 * 1024)) /dev/urandom > "$WORK/www/big.bin"
for i in $(seq 1 300); do echo "url = \"http://$SRV/p$((1 + i % 20)).html\""; done > "$WORK/urls.cfg"
for i in $(seq 1 2500); do echo "h$i.lab.test A"; done > "$WORK/queries.txt"

MAXPKT=$((4000000 * SCALE))
log "capture on srv:eth0 (snaplen $SNAPLEN, at most $MAXPKT packets) -> $OUTFILE"
ip netns exec "$(ns srv)" tcpdump -i eth0 -n -s "$SNAPLEN" -B 131072 -c "$MAXPKT" -Z root \
  -w "$OUTFILE" 2> "$WORK/tcpdump.err" &
TCPDUMP=$!
for _ in $(seq 50); do grep -q 'listening on' "$WORK/tcpdump.err" 2> /dev/null && break; sleep 0.1; done
ip netns exec "$(ns srv)" busybox httpd -f -p "$SRV:80" -h "$WORK/www" &
ip netns exec "$(ns srv)" dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --no-poll \
  --bind-interfaces --listen-address="$SRV" --user=root --group=root --pid-file= \
  --address=/lab.test/"$SRV" --dns-forward-max=1000 2> /dev/null &
for _ in $(seq 50); do in_ns cli curl -s -m 1 -o /dev/null "http://$SRV/p1.html" && break; sleep 0.1; done

log "traffic (scale $SCALE)"
T0=$SECONDS
gens=()
for _ in $(seq $((3 * SCALE))); do   # bulk: 3 x K loops of 24 downloads of 32 MB
  in_ns cli timeout 90 bash -c "for i in \$(seq 24); do curl -s -m 30 -o /dev/null http://$SRV/big.bin; done" &
  gens+=($!)
done
for _ in $(seq $((8 * SCALE))); do   # short flows: 8 x K loops of 2400 connections
  in_ns cli timeout 90 bash -c "for i in \$(seq 8); do curl -s -m 30 -K $WORK/urls.cfg -o /dev/null > /dev/null; done" &
  gens+=($!)
done
for _ in $(seq $((4 * SCALE))); do   # DNS: 4 x K loops of 2500 queries
  in_ns cli timeout 90 dig @"$SRV" +tries=1 +time=1 +short -f "$WORK/queries.txt" > /dev/null &
  gens+=($!)
done
in_ns atk timeout 90 bash -c "for i in 1 2; do nmap -n -Pn -sS -T5 --max-retries 0 --min-rate 20000 -p- $SRV > /dev/null; done" &
gens+=($!)
# Two SYN floods run flat out for 8 x K seconds, 10 s in (hping3 --flood ignores -c: timeout bounds it).
for _ in 1 2; do
  in_ns atk timeout $((12 + 8 * SCALE)) bash -c "sleep 10; exec timeout $((8 * SCALE)) hping3 -q -S -p 80 --flood $SRV" > /dev/null 2>&1 &
  gens+=($!)
done
in_ns atk timeout 30 hping3 -q --udp -p 53 -d 32 -c $((50000 * SCALE)) -i u20 "$SRV" > /dev/null 2>&1 &
gens+=($!)
for pid in "${gens[@]}"; do wait "$pid" || true; done
log "generators done after $((SECONDS - T0)) s"
sleep 1
kill -INT "$TCPDUMP" 2> /dev/null || true
wait "$TCPDUMP" 2> /dev/null || true
grep -E 'captured|dropped' "$WORK/tcpdump.err" >&2 || true
ls -l "$OUTFILE" >&2
