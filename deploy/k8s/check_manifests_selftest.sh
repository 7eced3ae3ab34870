#!/bin/bash
# Shows that check_manifests.sh catches what it claims to: each case breaks one thing in a copy of
# deploy/k8s and expects the check to fail with the matching message. Exit 1 if a case slips by.
# Registered with ctest as k8s_manifests_selftest.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
missed=0
# case FILE SED-EXPRESSION EXPECTED-MESSAGE
case_() {
  rm -rf "$tmp/k8s"
  cp -r "$here" "$tmp/k8s"
  sed -i "$2" "$tmp/k8s/$1"
  if cmp -s "$here/$1" "$tmp/k8s/$1"; then echo "BAD CASE: '$2' changes nothing in $1"; missed=$((missed + 1)); return; fi
  out=$("$tmp/k8s/check_manifests.sh" 2>&1)
  if [ $? -ne 0 ] && grep -qF -- "$3" <<<"$out"; then
    echo "caught: $1: $2"
  else
    echo "MISSED: $1: $2 (wanted '$3')"; echo "$out" | tail -3; missed=$((missed + 1))
  fi
}
case_ agent.yaml 's|path: /readyz|path: /ready|' "agent readiness probe path"
case_ agent.yaml 's|listen = "0.0.0.0:8710"|listen = "0.0.0.0:8711"|' "agent liveness probe port = listen port"
case_ agent.yaml 's|hostNetwork: true|hostNetwork: false|' "agent hostNetwork"
case_ agent.yaml '/memory: 512Mi/d' "resources.limits.memory not set"
case_ agent.yaml 's|^\( \{12,\}\)name: vigil-agent-token$|\1name: vigil-agent-tokens|' "env from missing Secret vigil-agent-tokens"
case_ registry.yaml '/^  selector:/,/name:/ s|name: vigil-registry|name: vigil-registri|' "Service/vigil-registry selects exactly one workload"
case_ registry.yaml 's|targetPort: http|targetPort: web|' "targetPort web is not a port"
case_ registry.yaml 's|claimName: vigil-registry-store|claimName: vigil-store|' "no PersistentVolumeClaim vigil-store"
case_ training.yaml 's|value: "2"|value: "3"|' "training WORLD_SIZE = completions"
case_ training.yaml 's|completionMode: Indexed|completionMode: NonIndexed|' "training Job completionMode"
case_ training.yaml 's|clusterIP: None|clusterIP: 10.0.0.10|' "headless"
case_ nats.yaml 's|image: nats:.*|image: nats:latest|' "is not pinned"
case_ nats.yaml 's|- --jetstream|- --trace|' "nats: not started with --jetstream"
[ "$missed" = 0 ] && echo "self-test: every broken manifest was caught"
[ "$missed" = 0 ]
