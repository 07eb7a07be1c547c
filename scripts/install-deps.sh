#!/usr/bin/env bash
# Installs what zraft needs to build and test, only if something is missing.
# Idempotent: a machine that has everything does nothing here.
set -euo pipefail
pkgs=(build-essential pkg-config libzmq3-dev libczmq-dev libmsgpack-dev check)
# --bench: also what the comparisons with canonical/raft, etcd and NATS
# JetStream and the plots need (etcd's and NATS's load generators build
# offline against Debian's Go sources of their clients).
if [ "${1:-}" = "--bench" ]; then
    pkgs+=(libraft-dev libuv1-dev gnuplot-nox etcd-server golang-go
           golang-etcd-server-dev nats-server golang-github-nats-io-go-nats-dev)
fi
# --fuzz: clang and its libFuzzer runtime (make fuzz; make test needs neither).
if [ "${1:-}" = "--fuzz" ]; then
    pkgs+=(clang libclang-rt-dev)
fi
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
log=$(mktemp)
if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        $SUDO apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log"; rm -f "$log"; echo "install-deps: apt-get failed"; exit 1
fi
rm -f "$log"
