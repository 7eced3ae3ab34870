#!/bin/bash
# Consistency checks of deploy/k8s/*.yaml, without a cluster: every object is named and in the
# vigil namespace; images are pinned and vigil's share one tag; every container sets requests and
# limits; workload selectors match their pod labels, Services select a workload and target a port
# it declares; probes use a declared port; mounted ConfigMaps, Secrets and claims exist (with the
# keys used); the agent runs on the host network, its probes are /healthz and /readyz on the
# --listen port of its ConfigMap, its token comes from a Secret, its registry URL is the registry
# Service; the registry probes /healthz on its --listen port; the training Job is Indexed with rank
# from the completion index and rendezvous through a headless Service; NATS runs JetStream.
# With the binaries given, every flag and agent config key must be a real one (from --help).
#
#   deploy/k8s/check_manifests.sh [VIGIL VIGIL_AGENT]
#
# Prints each failed check and exits 1 if any failed. Registered with ctest as k8s_manifests.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
vigil=${1:-}
agent=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -f "$here/yaml_paths.awk" "$here"/*.yaml >"$tmp/paths"
P=$tmp/paths
failures=0
checks=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { checks=$((checks + 1)); }
expect() {  # expect DESCRIPTION ACTUAL WANTED
  if [ "$2" = "$3" ]; then ok; else fail "$1: got '$2', want '$3'"; fi
}
# get FILE DOC PATH: the scalar at PATH (empty if none).
get() { awk -F'\t' -v f="$1" -v d="$2" -v p="$3" '$1==f && $2==d && $3==p {print $4; exit}' "$P"; }
# under FILE DOC PREFIX: "SUFFIX<TAB>VALUE" for every path that starts with PREFIX.
under() {
  awk -F'\t' -v f="$1" -v d="$2" -v p="$3" \
    '$1==f && $2==d && index($3,p)==1 {print substr($3,length(p)+1) "\t" $4}' "$P"
}
# docs KIND: "FILE<TAB>DOC<TAB>NAME" of every document of that kind.
docs() {
  awk -F'\t' -v k="$1" '$3=="kind" && $4==k {key=$1 "\t" $2; want[key]=1}
    $3=="metadata.name" {name[$1 "\t" $2]=$4}
    END {for (k2 in want) print k2 "\t" name[k2]}' "$P" | sort
}
# find KIND NAME: "FILE DOC" of that object (empty if none).
find_doc() { docs "$1" | awk -F'\t' -v n="$2" '$3==n {print $1, $2; exit}'; }
count() { awk -F'\t' -v f="$1" -v d="$2" -v p="$3" \
  'BEGIN{n=0} $1==f && $2==d && index($3,p)==1 {s=substr($3,length(p)+1); sub(/\].*/,"",s); if (s+1>n) n=s+1} END{print n}' "$P"; }

# --- every object ----------------------------------------------------------------------------
while IFS=$'\t' read -r f d; do
  kind=$(get "$f" "$d" kind)
  [ "$kind" = Kustomization ] && continue
  [ -n "$(get "$f" "$d" apiVersion)" ] && ok || fail "$f#$d: no apiVersion"
  name=$(get "$f" "$d" metadata.name)
  [ -n "$name" ] && ok || fail "$f#$d ($kind): no metadata.name"
  if [ "$kind" != Namespace ]; then
    expect "$f $kind/$name namespace" "$(get "$f" "$d" metadata.namespace)" vigil
  fi
  expect "$f $kind/$name label part-of" "$(get "$f" "$d" metadata.labels.app.kubernetes.io/part-of)" vigil
done < <(awk -F'\t' '$3=="kind" {print $1 "\t" $2}' "$P")

# --- workloads: labels, images, resources, ports, probes, volumes -----------------------------
vigil_tags=()
declare -A pod_labels  # "Kind/name" -> "k=v;k=v;" of the pod template
declare -A pod_ports   # "Kind/name" -> " name:port ..." of all containers
for kind in Deployment DaemonSet StatefulSet Job; do
  while IFS=$'\t' read -r f d name; do
    w="$kind/$name"
    labels=$(under "$f" "$d" spec.template.metadata.labels. | sort | awk -F'\t' '{printf "%s=%s;", $1, $2}')
    pod_labels[$w]=$labels
    [ -n "$labels" ] && ok || fail "$w: pod template without labels"
    if [ "$kind" != Job ]; then
      sel=$(under "$f" "$d" spec.selector.matchLabels. | sort | awk -F'\t' '{printf "%s=%s;", $1, $2}')
      [ -n "$sel" ] && ok || fail "$w: no spec.selector.matchLabels"
      IFS=';' read -ra pairs <<<"$sel"
      for kv in "${pairs[@]}"; do
        [[ ";$labels" == *";$kv;"* ]] && ok || fail "$w: selector $kv not in the pod labels"
      done
    fi
    spec="spec.template.spec."
    volumes=" "
    for ((v = 0; v < $(count "$f" "$d" "${spec}volumes["); v++)); do
      vn=$(get "$f" "$d" "${spec}volumes[$v].name")
      volumes+="$vn "
      cm=$(get "$f" "$d" "${spec}volumes[$v].configMap.name")
      sec=$(get "$f" "$d" "${spec}volumes[$v].secret.secretName")
      pvc=$(get "$f" "$d" "${spec}volumes[$v].persistentVolumeClaim.claimName")
      [ -z "$cm" ] || { [ -n "$(find_doc ConfigMap "$cm")" ] && ok || fail "$w: volume $vn: no ConfigMap $cm"; }
      [ -z "$sec" ] || { [ -n "$(find_doc Secret "$sec")" ] && ok || fail "$w: volume $vn: no Secret $sec"; }
      [ -z "$pvc" ] || { [ -n "$(find_doc PersistentVolumeClaim "$pvc")" ] && ok || fail "$w: volume $vn: no PersistentVolumeClaim $pvc"; }
    done
    for ((v = 0; v < $(count "$f" "$d" "spec.volumeClaimTemplates["); v++)); do
      volumes+="$(get "$f" "$d" "spec.volumeClaimTemplates[$v].metadata.name") "
    done
    ports=" "
    ncont=$(count "$f" "$d" "${spec}containers[")
    [ "$ncont" -gt 0 ] && ok || fail "$w: no containers"
    for ((c = 0; c < ncont; c++)); do
      C="${spec}containers[$c]."
      cname=$(get "$f" "$d" "${C}name")
      image=$(get "$f" "$d" "${C}image")
      if [[ "$image" =~ ^[^:]+:[^:]+$ && "$image" != *:latest ]]; then ok; else fail "$w/$cname: image '$image' is not pinned to a tag"; fi
      [[ "$image" == vigil:* ]] && vigil_tags+=("${image#vigil:}")
      for r in requests.cpu requests.memory limits.cpu limits.memory; do
        [ -n "$(get "$f" "$d" "${C}resources.$r")" ] && ok || fail "$w/$cname: resources.$r not set"
      done
      cports=" "
      for ((p = 0; p < $(count "$f" "$d" "${C}ports["); p++)); do
        pn=$(get "$f" "$d" "${C}ports[$p].name")
        pv=$(get "$f" "$d" "${C}ports[$p].containerPort")
        cports+="$pn:$pv "
        hp=$(get "$f" "$d" "${C}ports[$p].hostPort")
        if [ "$(get "$f" "$d" "${spec}hostNetwork")" = true ] && [ -n "$hp" ]; then
          expect "$w/$cname: hostPort of $pn on the host network" "$hp" "$pv"
        fi
      done
      ports+="$cports"
      for probe in livenessProbe readinessProbe; do
        pp=$(get "$f" "$d" "${C}$probe.httpGet.port")
        [ -z "$pp" ] && continue
        if [[ "$cports" == *" $pp:"* || "$cports" == *":$pp "* ]]; then ok; else fail "$w/$cname: $probe port $pp is not a declared container port ($cports)"; fi
      done
      for ((m = 0; m < $(count "$f" "$d" "${C}volumeMounts["); m++)); do
        mn=$(get "$f" "$d" "${C}volumeMounts[$m].name")
        [[ "$volumes" == *" $mn "* ]] && ok || fail "$w/$cname: volumeMount $mn is not a volume"
      done
      for ((e = 0; e < $(count "$f" "$d" "${C}env["); e++)); do
        sn=$(get "$f" "$d" "${C}env[$e].valueFrom.secretKeyRef.name")
        [ -z "$sn" ] && continue
        sk=$(get "$f" "$d" "${C}env[$e].valueFrom.secretKeyRef.key")
        loc=$(find_doc Secret "$sn")
        if [ -z "$loc" ]; then fail "$w/$cname: env from missing Secret $sn"; continue; fi
        read -r sf sd <<<"$loc"
        [ -n "$(get "$sf" "$sd" "stringData.$sk")$(get "$sf" "$sd" "data.$sk")" ] && ok ||
          fail "$w/$cname: Secret $sn has no key $sk"
      done
    done
    pod_ports[$w]=$ports
  done < <(docs "$kind")
done
first=${vigil_tags[0]:-}
for t in "${vigil_tags[@]}"; do expect "vigil image tags agree" "$t" "$first"; done

# --- Services select a workload and target its ports -----------------------------------------
while IFS=$'\t' read -r f d name; do
  sel=$(under "$f" "$d" spec.selector. | sort | awk -F'\t' '{printf "%s=%s;", $1, $2}')
  matched=""
  for w in "${!pod_labels[@]}"; do
    all=1
    IFS=';' read -ra pairs <<<"$sel"
    for kv in "${pairs[@]}"; do [[ ";${pod_labels[$w]}" == *";$kv;"* ]] || all=0; done
    [ "$all" = 1 ] && matched+="$w "
  done
  set -- $matched
  expect "Service/$name selects exactly one workload ($matched)" "$#" 1
  w=${1:-}
  for ((p = 0; p < $(count "$f" "$d" "spec.ports["); p++)); do
    tp=$(get "$f" "$d" "spec.ports[$p].targetPort")
    [ -z "$tp" ] && tp=$(get "$f" "$d" "spec.ports[$p].port")
    if [[ -n "$w" && ("${pod_ports[$w]}" == *" $tp:"* || "${pod_ports[$w]}" == *":$tp "*) ]]; then ok; else
      fail "Service/$name: targetPort $tp is not a port of $w"
    fi
  done
done < <(docs Service)

# --- the agent ---------------------------------------------------------------------------------
read -r af ad <<<"$(find_doc DaemonSet vigil-agent)"
if [ -z "${af:-}" ]; then fail "no DaemonSet vigil-agent"; else
  S=spec.template.spec.
  C=${S}containers[0].
  expect "agent hostNetwork" "$(get "$af" "$ad" "${S}hostNetwork")" true
  expect "agent dnsPolicy on the host network" "$(get "$af" "$ad" "${S}dnsPolicy")" ClusterFirstWithHostNet
  args=$(under "$af" "$ad" "${C}args[" | cut -f2 | tr '\n' ' ')
  cfg=$(sed -n 's/.*--config \([^ ]*\).*/\1/p' <<<"$args")
  [ -n "$cfg" ] && ok || fail "agent: no --config argument"
  # The ConfigMap volume mounted at the config file's directory, holding the file.
  cmname="" cmkey=""
  for ((m = 0; m < $(count "$af" "$ad" "${C}volumeMounts["); m++)); do
    mp=$(get "$af" "$ad" "${C}volumeMounts[$m].mountPath")
    if [ "$mp/$(basename "$cfg")" = "$cfg" ]; then
      mn=$(get "$af" "$ad" "${C}volumeMounts[$m].name")
      for ((v = 0; v < $(count "$af" "$ad" "${S}volumes["); v++)); do
        [ "$(get "$af" "$ad" "${S}volumes[$v].name")" = "$mn" ] &&
          cmname=$(get "$af" "$ad" "${S}volumes[$v].configMap.name")
      done
      cmkey=$(basename "$cfg")
    fi
  done
  [ -n "$cmname" ] && ok || fail "agent: --config $cfg is not in a mounted ConfigMap"
  read -r cf cd <<<"$(find_doc ConfigMap "$cmname")"
  toml=$(get "${cf:-x}" "${cd:-0}" "data.$cmkey" | sed 's/\\n/\n/g')
  [ -n "$toml" ] && ok || fail "agent: ConfigMap $cmname has no $cmkey"
  listen=$(sed -n 's/^listen *= *"\(.*\)"/\1/p' <<<"$toml")
  lport=${listen##*:}
  [ -n "$lport" ] && ok || fail "agent: no listen = \"HOST:PORT\" in $cmkey"
  expect "agent liveness probe path" "$(get "$af" "$ad" "${C}livenessProbe.httpGet.path")" /healthz
  expect "agent readiness probe path" "$(get "$af" "$ad" "${C}readinessProbe.httpGet.path")" /readyz
  expect "agent liveness probe port = listen port" "$(get "$af" "$ad" "${C}livenessProbe.httpGet.port")" "$lport"
  expect "agent readiness probe port = listen port" "$(get "$af" "$ad" "${C}readinessProbe.httpGet.port")" "$lport"
  [[ "${pod_ports[DaemonSet/vigil-agent]}" == *":$lport "* ]] && ok || fail "agent: listen port $lport is not a container port"
  tokenref=$(awk -F'\t' -v f="$af" -v d="$ad" '$1==f && $2==d && $4=="VIGIL_REGISTRY_TOKEN" {p=$3; sub(/name$/,"valueFrom.secretKeyRef.name",p); print p}' "$P")
  [ -n "$tokenref" ] && [ -n "$(get "$af" "$ad" "$tokenref")" ] && ok || fail "agent: VIGIL_REGISTRY_TOKEN does not come from a Secret"
  grep -q '^token' <<<"$toml" && fail "agent: a token in the ConfigMap (use the Secret)" || ok
  reg=$(sed -n 's/^registry *= *"\(.*\)"/\1/p' <<<"$toml")
  read -r rf rd <<<"$(find_doc Service vigil-registry)"
  rport=$(get "${rf:-x}" "${rd:-0}" "spec.ports[0].port")
  [[ "$reg" =~ ^https?://vigil-registry(\.vigil(\.svc(\.cluster\.local)?)?)?:$rport$ ]] && ok ||
    fail "agent: registry = '$reg' is not the vigil-registry Service on port $rport"
  for key in registry name channel; do
    grep -q "^$key *=" <<<"$toml" && ok || fail "agent: $cmkey lacks $key (it follows a registry channel)"
  done
  if [ -n "$agent" ]; then
    help=$("$agent" --help 2>&1)
    for key in $(sed -n 's/^\([a-z_]*\) *=.*/\1/p' <<<"$toml"); do
      grep -q -- "--${key//_/-}\b" <<<"$help" && ok || fail "agent: config key $key is not a vigil-agent flag"
    done
    for flag in $(tr ' ' '\n' <<<"$args" | grep '^--'); do
      grep -q -- "$flag\b" <<<"$help" && ok || fail "agent: $flag is not a vigil-agent flag"
    done
  fi
fi

# --- the registry ------------------------------------------------------------------------------
read -r gf gd <<<"$(find_doc Deployment vigil-registry)"
if [ -z "${gf:-}" ]; then fail "no Deployment vigil-registry"; else
  C=spec.template.spec.containers[0].
  args=$(under "$gf" "$gd" "${C}args[" | cut -f2 | tr '\n' ' ')
  [[ "$args" == "registry serve "* ]] && ok || fail "registry: args do not start with 'registry serve'"
  listen=$(sed -n 's/.*--listen \([^ ]*\).*/\1/p' <<<"$args")
  [[ "$listen" == 0.0.0.0:* ]] && ok || fail "registry: --listen '$listen' does not listen on all addresses"
  for probe in livenessProbe readinessProbe; do
    expect "registry $probe path" "$(get "$gf" "$gd" "${C}$probe.httpGet.path")" /healthz
    expect "registry $probe port = --listen port" "$(get "$gf" "$gd" "${C}$probe.httpGet.port")" "${listen##*:}"
  done
  for opt in --store --tokens; do
    path=$(sed -n "s/.*$opt \([^ ]*\).*/\1/p" <<<"$args")
    mounted=0
    for ((m = 0; m < $(count "$gf" "$gd" "${C}volumeMounts["); m++)); do
      mp=$(get "$gf" "$gd" "${C}volumeMounts[$m].mountPath")
      [[ "$path" == "$mp" || "$path" == "$mp"/* ]] && mounted=1
    done
    [ "$mounted" = 1 ] && ok || fail "registry: $opt $path is not on a mounted volume"
  done
  if [ -n "$vigil" ]; then
    help=$("$vigil" registry serve --help 2>&1)
    for flag in $(tr ' ' '\n' <<<"$args" | grep '^--'); do
      grep -q -- "$flag\b" <<<"$help" && ok || fail "registry: $flag is not a 'vigil registry serve' flag"
    done
  fi
fi

# --- distributed training ----------------------------------------------------------------------
read -r jf jd <<<"$(find_doc Job vigil-train)"
if [ -z "${jf:-}" ]; then fail "no Job vigil-train"; else
  S=spec.template.spec.
  C=${S}containers[0].
  expect "training Job completionMode" "$(get "$jf" "$jd" spec.completionMode)" Indexed
  n=$(get "$jf" "$jd" spec.completions)
  expect "training Job parallelism = completions" "$(get "$jf" "$jd" spec.parallelism)" "$n"
  envval() { awk -F'\t' -v f="$jf" -v d="$jd" -v k="$1" '$1==f && $2==d && $4==k && $3 ~ /env\[[0-9]+\]\.name$/ {p=$3; sub(/name$/,"",p); print p; exit}' "$P"; }
  expect "training WORLD_SIZE = completions" "$(get "$jf" "$jd" "$(envval WORLD_SIZE)value")" "$n"
  expect "training RANK = the completion index" "$(get "$jf" "$jd" "$(envval RANK)valueFrom.fieldRef.fieldPath")" \
    "metadata.annotations['batch.kubernetes.io/job-completion-index']"
  sub=$(get "$jf" "$jd" "${S}subdomain")
  read -r hf hd <<<"$(find_doc Service "$sub")"
  [ -n "${hf:-}" ] && ok || fail "training: no Service named after the pods' subdomain '$sub'"
  expect "training rendezvous Service is headless" "$(get "${hf:-x}" "${hd:-0}" spec.clusterIP)" None
  expect "training MASTER_ADDR = pod 0 of the Job" "$(get "$jf" "$jd" "$(envval MASTER_ADDR)value")" "vigil-train-0.$sub"
  mport=$(get "$jf" "$jd" "$(envval MASTER_PORT)value")
  expect "training MASTER_PORT = the Service's port" "$mport" "$(get "${hf:-x}" "${hd:-0}" spec.ports[0].port)"
  [[ "${pod_ports[Job/vigil-train]}" == *":$mport "* ]] && ok || fail "training: MASTER_PORT $mport is not a container port"
  script=$(under "$jf" "$jd" "${C}args[" | cut -f2)
  [[ "$script" == *"vigil train "* ]] && ok || fail "training: the container does not run 'vigil train'"
  if [ -n "$vigil" ]; then
    help=$("$vigil" train --help 2>&1)
    for flag in $(grep -o -- '--[a-z-]*' <<<"$script" | sort -u); do
      grep -q -- "$flag\b" <<<"$help" && ok || fail "training: $flag is not a 'vigil train' flag"
    done
  fi
fi

# --- NATS JetStream ----------------------------------------------------------------------------
read -r nf nd <<<"$(find_doc StatefulSet nats)"
if [ -z "${nf:-}" ]; then fail "no StatefulSet nats"; else
  svc=$(get "$nf" "$nd" spec.serviceName)
  read -r sf sd <<<"$(find_doc Service "$svc")"
  [ -n "${sf:-}" ] && ok || fail "nats: serviceName '$svc' is not a Service"
  expect "nats governing Service is headless" "$(get "${sf:-x}" "${sd:-0}" spec.clusterIP)" None
  under "$nf" "$nd" "spec.template.spec.containers[0].args[" | cut -f2 | grep -qx -- --jetstream && ok ||
    fail "nats: not started with --jetstream"
  [ "$(count "$nf" "$nd" spec.volumeClaimTemplates[)" -gt 0 ] && ok || fail "nats: JetStream without a volume claim"
fi

# --- single-host systemd units (deploy/systemd) -----------------------------------------------
units=$here/../systemd
if [ -d "$units" ]; then
  for unit in "$units"/*.service; do
    exec_line=$(sed -n 's/^ExecStart=//p' "$unit")
    [ -n "$exec_line" ] && ok || fail "$(basename "$unit"): no ExecStart"
    grep -q '^Restart=' "$unit" && ok || fail "$(basename "$unit"): no Restart="
    bin=$(basename "${exec_line%% *}")
    help=""
    case "$bin" in
      vigil) [ -n "$vigil" ] && help=$("$vigil" registry serve --help 2>&1) ;;
      vigil-agent) [ -n "$agent" ] && help=$("$agent" --help 2>&1) ;;
    esac
    if [ -n "$help" ]; then
      for flag in $(grep -o -- ' --[a-z-]*' <<<"$exec_line"); do
        grep -q -- "$flag\b" <<<"$help" && ok || fail "$(basename "$unit"): $flag is not a $bin flag"
      done
    fi
  done
  if [ -n "$agent" ] && [ -f "$units/agent.toml" ]; then
    help=$("$agent" --help 2>&1)
    for key in $(sed -n 's/^\([a-z_]*\) *=.*/\1/p' "$units/agent.toml"); do
      grep -q -- "--${key//_/-}\b" <<<"$help" && ok || fail "systemd/agent.toml: $key is not a vigil-agent flag"
    done
  fi
fi

echo "k8s manifests: $checks checks passed, $failures failed"
[ "$failures" = 0 ]
