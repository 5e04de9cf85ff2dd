#!/usr/bin/env bash
# Sets up a fresh Debian machine (as root) for minicloud: the Debian packages the
# tests and demos drive as real peers, then .venv with the pinned Python packages,
# then the generated protobuf modules. Idempotent; quick when all is present.
#   tools/setup.sh            packages for `make test` / `make demo`
#   tools/setup.sh bench      also the benchmark peers (nginx, haproxy)
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(runc crun busybox-static iptables nftables etcd-server etcd-client containerd
      containernetworking-plugins iproute2 procps libxxhash0 skopeo umoci conntrack bind9-dnsutils)
[ "${1:-}" = bench ] && debs+=(nginx-light haproxy wrk)

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Debian's kubernetes-client conflicts with a preinstalled kubectl: only when none.
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages (${missing[*]}); run as root to install them" >&2
  else
    echo "setup: apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The packaged etcd and containerd services would hold our test ports.
    for svc in etcd containerd; do
      systemctl disable --now "$svc" >/dev/null 2>&1 || true
    done
  fi
fi

# Debian's kubectl 1.20 beside the preinstalled dispatcher, for the oldest-client test:
# unpacked with dpkg -x, not installed (the package conflicts with the dispatcher).
k120=/opt/kubernetes-client-1.20
if [ ! -x "$k120/usr/bin/kubectl" ] && [ "$(id -u)" = 0 ]; then
  tmp="$(mktemp -d)"
  chown _apt "$tmp" 2>/dev/null || true
  (cd "$tmp" && { apt-get download -qq kubernetes-client 2>/dev/null ||
    { apt-get update -qq && apt-get download -qq kubernetes-client; }; })
  mkdir -p "$k120" && dpkg -x "$tmp"/kubernetes-client_*.deb "$k120"
  rm -rf "$tmp"
fi

stamp=.venv/.minicloud-stamp
if [ ! -x .venv/bin/python ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: creating .venv with the pinned dependencies"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip >/dev/null
  # compat mode: a plain .pth to the work tree, so packages added later import too.
  .venv/bin/pip install -q -e '.[dev]' --config-settings editable_mode=compat
  touch "$stamp"
fi

.venv/bin/python tools/gen_protos.py

# The runtime's own executable (what containerd's shim and the kubelet exec): the system
# interpreter with -IS instead of pip's wrapper, because every `state` call pays start-up.
# The runtime imports only the standard library, so Debian's static build of the same
# Python version serves (faster to start than a shared-libpython build such as pyenv's).
mc_python="$(readlink -f .venv/bin/python)"
pyver() { "$1" -c 'import sys; print(sys.version_info[:2])'; }
if [ -x /usr/bin/python3.11 ] && [ "$(pyver "$mc_python")" = "$(pyver /usr/bin/python3.11)" ]; then
  mc_python=/usr/bin/python3.11
fi
.venv/bin/python -m minicontainer.cli.launcher --python "$mc_python" .venv/bin/minicontainer >/dev/null
