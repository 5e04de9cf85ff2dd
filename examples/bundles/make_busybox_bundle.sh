#!/bin/sh
# Make an OCI bundle (config.json + rootfs) from Debian's static busybox.
# Usage: examples/bundles/make_busybox_bundle.sh DIR [command...]
# The rootfs is built, never committed: bin/busybox plus one symlink per applet.
# config.json is `minicontainer spec` (the same file `runc spec` writes) with no
# terminal and the given command (default: sh -c 'echo hello from $(hostname)').
set -eu
dir=${1:?usage: $0 DIR [command...]}
shift
repo=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/sys" "$dir/rootfs/dev"
cp /bin/busybox "$dir/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$dir/rootfs/bin/$applet"
done
rm -f "$dir/config.json"
(cd "$dir" && PYTHONPATH="$repo" "$repo/.venv/bin/python" -m minicontainer spec)
if [ $# -eq 0 ]; then set -- sh -c 'echo hello from $(hostname)'; fi
PYTHONPATH="$repo" "$repo/.venv/bin/python" - "$dir/config.json" "$@" <<'PY'
import json, sys
path, args = sys.argv[1], sys.argv[2:]
spec = json.load(open(path))
spec["process"]["terminal"] = False
spec["process"]["args"] = args
open(path, "w").write(json.dumps(spec, indent="\t"))
PY
echo "bundle ready: $dir (try: runc run -b $dir demo; python -m minicontainer run -b $dir demo)"
