#!/usr/bin/env bash
# vigil's traffic lab: benign and attack traffic between network namespaces, captured and labelled.
#
#   tests/lab/run_lab.sh OUTDIR [--duration S] [--no-attacks] [--keep-work]
#
# Builds five network namespaces (a switch and four hosts, each joined to the switch's bridge by a
# veth pair with segmentation, receive and checksum offloads off) in 10.231.0.0/24:
#
#   srv  10.231.0.10  busybox httpd :80 (pages, files up to 4 MB, /admin/ behind basic auth),
#                     dnsmasq :53 (authoritative for lab.test), OpenSSH sshd :22 (generated keys)
#   cli1 10.231.0.21  benign clients, seven loops each: curl and wget (pages, a 404, 64 kB
#   cli2 10.231.0.22  files, authenticated pages; 2 loops), dig (A/MX/TXT, names that exist and
#                     not; 2 loops), ssh (commands, 64 kB down, 512 kB up; 2 loops), downloads
#                     of 0.5 and 4 MB (1 loop)
#   atk  10.231.0.66  attack tools, one after the other, each bounded in count and in time:
#                     nmap SYN scan (ports 1-1000), nmap version scan (ports 1-200, light),
#                     hping3 SYN flood (3000 SYNs to :80, 1 ms apart), hydra ssh password
#                     guessing (one user, 36 passwords, 4 tasks, 20 s at most)
#
# First a benign period of S seconds (default 30; the test uses 40), in which only cli1 and cli2 talk to srv, then
# the attack period, in which only atk does. tcpdump captures srv's interface (every packet of the
# lab goes to or from srv) into OUTDIR/lab.pcap (classic pcap, Ethernet, whole frames).
#
# OUTDIR/labels.csv has one row per period and host:
#   category,label,host,start,end
#   benign,0,10.231.0.21,1764410000.123456,1764410030.234567
#   nmap-syn,1,10.231.0.66,...
# A flow belongs to the row whose host is its source or destination address and whose
# [start - 1 s, end + 1 s] holds the flow's start time (the attack rows take precedence). Times are
# seconds since the epoch on the capture's clock. Categories: benign, nmap-syn, nmap-version,
# syn-flood, ssh-bruteforce. OUTDIR/lab.log has every command's output; OUTDIR/summary.txt the
# packet count and the periods.
#
# Namespace and interface names carry this run's id, so two runs do not collide; everything
# (processes, namespaces, temporary files) is removed on exit, on failure and on Ctrl-C. Traffic
# never leaves the namespaces. Needs root, iproute2, ethtool, tcpdump, busybox, dnsmasq, dig,
# sshd/ssh, curl, wget, nmap, hping3, hydra (scripts/setup installs them). About 45 + S seconds.
set -euo pipefail

usage() { sed -n '2,37p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
OUT=$1
shift
DURATION=30
ATTACKS=1
KEEP_WORK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=${2:?}; shift 2 ;;
    --no-attacks) ATTACKS=0; shift ;;
    --keep-work) KEEP_WORK=1; shift ;;
    -h|--help) usage ;;
    *) echo "run_lab: unknown option '$1'" >&2; usage ;;
  esac
done
if ! [[ "$DURATION" =~ ^[0-9]+$ ]] || [ "$DURATION" -lt 5 ] || [ "$DURATION" -gt 600 ]; then
  echo "run_lab: --duration must be 5..600 seconds" >&2
  exit 2
fi

[ "$(id -u)" = 0 ] || { echo "run_lab: needs root (network namespaces)" >&2; exit 3; }
missing=()
for tool in ip ethtool tcpdump busybox dnsmasq dig /usr/sbin/sshd ssh ssh-keygen curl wget nmap \
            hping3 hydra timeout; do
  command -v "$tool" > /dev/null || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "run_lab: missing tools: ${missing[*]} (scripts/setup --no-build installs them)" >&2
  exit 3
fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
ID=vl$$$(printf '%04x' $((RANDOM % 65536)))
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vigil-lab-$ID.XXXXXX")
chmod 755 "$WORK"
LOG=$OUT/lab.log
: > "$LOG"
HOSTS=(srv cli1 cli2 atk)
declare -A ADDR=([srv]=10.231.0.10 [cli1]=10.231.0.21 [cli2]=10.231.0.22 [atk]=10.231.0.66)
SRV=${ADDR[srv]}
NAMESPACES=()
PIDS=()

log() { printf '%s %s\n' "$(date -u +%H:%M:%S.%N | cut -c1-12)" "$*" | tee -a "$LOG" >&2; }
ns() { echo "$ID-$1"; }
in_ns() { local h=$1; shift; ip netns exec "$(ns "$h")" "$@"; }
now() { date +%s.%6N; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  # The servers this script started, then anything else still running inside our namespaces
  # (clients, attack tools, tcpdump if the run failed: SIGTERM makes it flush what it has).
  local n pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2> /dev/null; done
  for n in "${NAMESPACES[@]}"; do
    for pid in $(ip netns pids "$n" 2> /dev/null); do kill "$pid" 2> /dev/null; done
  done
  sleep 0.3
  for n in "${NAMESPACES[@]}"; do
    for pid in $(ip netns pids "$n" 2> /dev/null); do kill -9 "$pid" 2> /dev/null; done
  done
  for pid in "${PIDS[@]}"; do wait "$pid" 2> /dev/null; done
  for n in "${NAMESPACES[@]}"; do ip netns del "$n" 2> /dev/null; done
  if [ "$KEEP_WORK" = 1 ]; then echo "run_lab: work files kept in $WORK" >&2; else rm -rf "$WORK"; fi
  [ "$rc" = 0 ] || echo "run_lab: failed (exit $rc); see $LOG" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Topology: a bridge in the switch namespace, one veth pair per host, offloads off on both ends.
log "lab $ID: namespaces and veth pairs"
for n in sw "${HOSTS[@]}"; do
  ip netns add "$(ns "$n")"
  NAMESPACES+=("$(ns "$n")")
  # No IPv6 (router solicitations and MLD reports would add flows nobody asked for).
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
  in_ns "$h" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
  in_ns "$h" ip addr add "${ADDR[$h]}/24" dev eth0
  in_ns sw ip link set "p-$h" up
  in_ns "$h" ip link set eth0 up
  # Fail loudly if an offload is still on: the capture would hold merged 64 KB "packets".
  if in_ns "$h" ethtool -k eth0 | grep -Eq '^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload): on'; then
    echo "run_lab: could not turn offloads off on $h" >&2; exit 1
  fi
done

# ---------------------------------------------------------------------------------------------
# Server content and configuration.
mkdir -p "$WORK/www/admin" "$WORK/www/docs" "$WORK/ssh"
for i in $(seq 1 20); do
  { echo "<html><head><title>page $i</title></head><body>"
    head -c $((200 + i * 397)) /dev/zero | tr '\0' 'x' | fold -w 72
    echo "</body></html>"; } > "$WORK/www/page$i.html"
done
cp "$WORK/www/page1.html" "$WORK/www/index.html"
head -c 65536 /dev/urandom > "$WORK/www/docs/small.bin"
head -c 524288 /dev/urandom > "$WORK/www/docs/medium.bin"
head -c 4194304 /dev/urandom > "$WORK/www/docs/large.bin"
echo "admin area" > "$WORK/www/admin/index.html"
# busybox httpd: basic auth on /admin (user lab, password labpass).
printf '/admin:lab:labpass\n' > "$WORK/httpd.conf"

ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh/host_key" -C lab-host
ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh/client_key" -C lab-client
cp "$WORK/ssh/client_key.pub" "$WORK/ssh/authorized_keys"
cat > "$WORK/ssh/sshd_config" <<EOF
ListenAddress $SRV
Port 22
HostKey $WORK/ssh/host_key
PidFile $WORK/ssh/sshd.pid
AuthorizedKeysFile $WORK/ssh/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
MaxAuthTries 3
MaxStartups 64
MaxSessions 32
LoginGraceTime 20
PrintMotd no
UseDNS no
EOF
# sshd's privilege separation directory (left in place: another lab run may be using it).
[ -d /run/sshd ] || { mkdir -p /run/sshd; chmod 755 /run/sshd; }
/usr/sbin/sshd -t -f "$WORK/ssh/sshd_config"

# Passwords the guessing burst tries (none is right: the user does not exist).
for w in 123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon 123123 \
         baseball abc123 football monkey letmein 696969 shadow master 666666 qwertyuiop 123321 \
         mustang 1234567890 michael 654321 superman 1qaz2wsx 7777777 121212 000000 qazwsx \
         123qwe killer trustno1 jordan; do
  echo "$w"
done > "$WORK/passwords.txt"

# ---------------------------------------------------------------------------------------------
# Capture first, then the servers.
log "capture on srv:eth0 -> $OUT/lab.pcap"
rm -f "$OUT/lab.pcap"
ip netns exec "$(ns srv)" tcpdump -i eth0 -n -s 0 -B 16384 -U -Z root -w "$OUT/lab.pcap" 2> "$WORK/tcpdump.err" &
TCPDUMP_PID=$!
for _ in $(seq 50); do grep -q 'listening on' "$WORK/tcpdump.err" 2> /dev/null && break; sleep 0.1; done
grep -q 'listening on' "$WORK/tcpdump.err" || { cat "$WORK/tcpdump.err" >&2; exit 1; }

log "servers on $SRV: busybox httpd, dnsmasq, sshd"
ip netns exec "$(ns srv)" busybox httpd -f -p "$SRV:80" -h "$WORK/www" -c "$WORK/httpd.conf" >> "$LOG" 2>&1 &
PIDS+=($!)
ip netns exec "$(ns srv)" dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --no-poll --bind-interfaces \
  --listen-address="$SRV" --port=53 --user=root --group=root --pid-file= \
  --address=/lab.test/"$SRV" --host-record=www.lab.test,"$SRV" \
  --mx-host=lab.test,mail.lab.test,10 --txt-record=lab.test,"v=spf1 -all" \
  --local=/invalid.test/ >> "$LOG" 2>&1 &
PIDS+=($!)
ip netns exec "$(ns srv)" /usr/sbin/sshd -D -e -f "$WORK/ssh/sshd_config" >> "$WORK/sshd.log" 2>&1 &
PIDS+=($!)

SSH_OPTS=(-i "$WORK/ssh/client_key" -o BatchMode=yes -o StrictHostKeyChecking=no
          -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5)
ready=0
for _ in $(seq 50); do
  if in_ns cli1 curl -s -m 1 -o /dev/null "http://$SRV/index.html" &&
     in_ns cli1 dig +short +tries=1 +time=1 @"$SRV" www.lab.test | grep -q "$SRV" &&
     in_ns cli1 timeout 5 ssh "${SSH_OPTS[@]}" root@"$SRV" true 2>> "$LOG"; then
    ready=1; break
  fi
  sleep 0.2
done
[ "$ready" = 1 ] || { echo "run_lab: servers did not come up" >&2; cat "$WORK/sshd.log" >&2; exit 1; }
sleep 1  # let the readiness checks' flows end before the benign period starts

# ---------------------------------------------------------------------------------------------
# Benign period: cli1 and cli2 run seven client loops each for DURATION seconds.
echo "category,label,host,start,end" > "$OUT/labels.csv"

# Sleeps 0.05..(0.05 + max/100) s.
nap() { sleep "$(printf '0.%02d' $((5 + RANDOM % $1)))"; }

web_loop() {  # pages, several per connection sometimes, a 404, authenticated pages, wget
  local end=$1 i
  while [ "$SECONDS" -lt "$end" ]; do
    i=$((1 + RANDOM % 20))
    case $((RANDOM % 8)) in
      0|1|2) curl -s -m 5 -o /dev/null "http://$SRV/page$i.html" ;;
      3) curl -s -m 5 -o /dev/null -o /dev/null "http://$SRV/page$i.html" "http://$SRV/index.html" ;;
      4) wget -q -T 5 -O /dev/null "http://$SRV/page$i.html" ;;
      5) curl -s -m 5 -o /dev/null "http://$SRV/missing$i.html" ;;
      6) curl -s -m 5 -o /dev/null -u lab:labpass "http://$SRV/admin/" ;;
      7) curl -s -m 5 -o /dev/null "http://$SRV/docs/small.bin" ;;
    esac
    nap 40
  done
}
dns_loop() {  # A, MX, TXT and names that do not exist, one transaction per flow
  local end=$1
  while [ "$SECONDS" -lt "$end" ]; do
    case $((RANDOM % 5)) in
      0|1) dig +short +tries=1 +time=1 @"$SRV" "host$((RANDOM % 50)).lab.test" A > /dev/null ;;
      2) dig +short +tries=1 +time=1 @"$SRV" lab.test MX > /dev/null ;;
      3) dig +short +tries=1 +time=1 @"$SRV" lab.test TXT > /dev/null ;;
      4) dig +short +tries=1 +time=1 @"$SRV" "nx$RANDOM.invalid.test" A > /dev/null ;;
    esac
    nap 40
  done
}
ssh_loop() {  # short commands and copies over ssh
  local end=$1
  while [ "$SECONDS" -lt "$end" ]; do
    case $((RANDOM % 3)) in
      0) timeout 10 ssh "${SSH_OPTS[@]}" root@"$SRV" 'uname -a; ls /' > /dev/null ;;
      1) timeout 10 ssh "${SSH_OPTS[@]}" root@"$SRV" "cat $WORK/www/docs/small.bin" > /dev/null ;;
      2) timeout 10 ssh "${SSH_OPTS[@]}" root@"$SRV" 'cat > /dev/null' < "$WORK/www/docs/medium.bin" ;;
    esac
    nap 60
  done
}
bulk_loop() {  # downloads of 0.5 and 4 MB
  local end=$1
  while [ "$SECONDS" -lt "$end" ]; do
    if [ $((RANDOM % 2)) = 0 ]; then
      curl -s -m 20 -o /dev/null "http://$SRV/docs/large.bin"
    else
      wget -q -T 20 -O /dev/null "http://$SRV/docs/medium.bin"
    fi
    nap 40
  done
}
export -f web_loop dns_loop ssh_loop bulk_loop nap
export SRV WORK
export SSH_OPTS_STR="${SSH_OPTS[*]}"

log "benign period: ${DURATION} s of web, dns, ssh and bulk traffic from cli1 and cli2"
b_start=$(now)
clients=()
for h in cli1 cli2; do
  for loop in web_loop web_loop dns_loop dns_loop ssh_loop ssh_loop bulk_loop; do
    # SSH_OPTS is an array: rebuild it inside the child shell.
    ip netns exec "$(ns "$h")" timeout $((DURATION + 25)) bash -c \
      "SSH_OPTS=(\$SSH_OPTS_STR); end=\$((SECONDS + $DURATION)); $loop \$end" >> "$LOG" 2>&1 &
    clients+=($!)
  done
done
for pid in "${clients[@]}"; do wait "$pid" || true; done
b_end=$(now)
for h in cli1 cli2; do echo "benign,0,${ADDR[$h]},$b_start,$b_end" >> "$OUT/labels.csv"; done
sleep 2  # a gap between the periods

# ---------------------------------------------------------------------------------------------
# Attack period: only atk talks to srv; each tool bounded in count and wall time.
attack() {  # attack CATEGORY LIMIT_S COMMAND...
  local category=$1 limit=$2 start end rc
  shift 2
  log "attack $category: $*"
  start=$(now)
  set +e
  (cd "$WORK" && in_ns atk timeout -k 2 "$limit" "$@") >> "$LOG" 2>&1
  rc=$?
  set -e
  end=$(now)
  [ "$rc" = 0 ] || log "  (exit $rc)"
  echo "$category,1,${ADDR[atk]},$start,$end" >> "$OUT/labels.csv"
  sleep 1.5
}
if [ "$ATTACKS" = 1 ]; then
  attack nmap-syn 30 nmap -n -Pn -sS -T4 --max-retries 1 -p 1-1000 "$SRV"
  attack nmap-version 45 nmap -n -Pn -sS -sV --version-light -T4 --max-retries 1 -p 1-200 "$SRV"
  attack syn-flood 15 hping3 -q -S -p 80 -c 3000 -i u1000 "$SRV"
  attack ssh-bruteforce 20 hydra -I -q -l labuser -P "$WORK/passwords.txt" -t 4 -w 3 "ssh://$SRV"
fi

sleep 1
kill -INT "$TCPDUMP_PID" 2> /dev/null || true
wait "$TCPDUMP_PID" 2> /dev/null || true
cat "$WORK/tcpdump.err" >> "$LOG"
packets=$(grep -Eo '^[0-9]+ packets captured' "$WORK/tcpdump.err" | grep -Eo '^[0-9]+' || echo '?')
dropped=$(grep -Eo '^[0-9]+ packets dropped by kernel' "$WORK/tcpdump.err" | grep -Eo '^[0-9]+' || echo '?')
{
  echo "lab $ID"
  echo "capture: $OUT/lab.pcap ($packets packets, $dropped dropped by kernel)"
  echo "hosts: srv ${ADDR[srv]}, cli1 ${ADDR[cli1]}, cli2 ${ADDR[cli2]}, atk ${ADDR[atk]}"
  cat "$OUT/labels.csv"
} > "$OUT/summary.txt"
log "done: $packets packets ($dropped dropped) in $OUT/lab.pcap, labels in $OUT/labels.csv"
