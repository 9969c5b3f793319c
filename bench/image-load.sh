#!/bin/sh
# `load` of one ~200 MB docker-archive: hull against podman, side by side, alternating A/B.
# The image is assets/debian-rootfs.tar (debootstrap minbase, scripts/prepare-assets) plus a
# layer of incompressible data, saved once by hull as a docker-archive. Each round loads it
# into an empty store (hull: its own --root; podman: its own --root/--runroot, overlay driver,
# cgroupfs, file events), then removes the store, so every load does the full work.
# Prints one line per run ("hull 4.91" / "podman 10.42", seconds of wall time) and the medians.
# Usage: bench/image-load.sh [ROUNDS] [WORKDIR]   (as root, after scripts/build release)
set -eu
cd "$(dirname "$0")/.."
rounds=${1:-5}
work=${2:-/var/tmp/hull-bench-load}
hull=$PWD/build/cmd/hull/hull
[ -s assets/debian-rootfs.tar ] || { echo "assets/debian-rootfs.tar is missing: run scripts/prepare-assets" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
runroot=$(mktemp -d /tmp/hbl-XXXXXX)  # podman wants a runroot shorter than 50 characters
trap 'rm -rf "$work" "$runroot"' EXIT
podman="podman --root $work/podman --runroot $runroot --cgroup-manager=cgroupfs --events-backend=file"

# The archive: Debian rootfs + 16 MiB of random data as a second layer.
mkdir -p "$work/data/data"
head -c 16777216 /dev/urandom > "$work/data/data/random.bin"
tar -C "$work/data" -cf "$work/data.tar" .
"$hull" --root "$work/prep" import -q assets/debian-rootfs.tar bench/debian:base >/dev/null
"$hull" --root "$work/prep" save -q -o "$work/base.tar" bench/debian:base
python3 - "$work" <<'PY'
import hashlib, json, os, sys, tarfile
w = sys.argv[1]
src = tarfile.open(os.path.join(w, "base.tar"))
man = json.load(src.extractfile("manifest.json"))[0]
cfg = json.load(src.extractfile(man["Config"]))
data = open(os.path.join(w, "data.tar"), "rb").read()
diff = "sha256:" + hashlib.sha256(data).hexdigest()
cfg["rootfs"]["diff_ids"].append(diff)
cfg.setdefault("history", []).append({"created_by": "bench data layer"})
cfgb = json.dumps(cfg).encode()
with tarfile.open(os.path.join(w, "image.tar"), "w") as out:
    for m in src.getmembers():
        if m.name in ("manifest.json", man["Config"]):
            continue
        out.addfile(m, src.extractfile(m) if m.isfile() else None)
    for name, b in ((diff[7:] + "/layer.tar", data), ("config.json", cfgb),
                    ("manifest.json", json.dumps([{"Config": "config.json", "RepoTags": ["bench/debian:data"],
                                                   "Layers": man["Layers"] + [diff[7:] + "/layer.tar"]}]).encode())):
        ti = tarfile.TarInfo(name)
        ti.size = len(b)
        import io
        out.addfile(ti, io.BytesIO(b))
PY
rm -rf "$work/prep" "$work/base.tar" "$work/data" "$work/data.tar"
size=$(stat -c %s "$work/image.tar")
echo "archive: $((size / 1000000)) MB, $(tar tf "$work/image.tar" | grep -c layer.tar) layers"

run() { # name command...: prints "name seconds"
	name=$1; shift
	sync
	t0=$(date +%s.%N)
	"$@" >/dev/null
	t1=$(date +%s.%N)
	echo "$name $(echo "$t1 - $t0" | bc)"
}
: > "$work/times"
for r in $(seq "$rounds"); do
	if [ $((r % 2)) -eq 1 ]; then order="hull podman"; else order="podman hull"; fi
	for who in $order; do
		case $who in
		hull) run hull "$hull" --root "$work/hull" load -q -i "$work/image.tar" | tee -a "$work/times"
		      rm -rf "$work/hull" ;;
		podman) run podman $podman load -q -i "$work/image.tar" | tee -a "$work/times"
		        $podman system reset -f >/dev/null 2>&1 || true; rm -rf "$work/podman" ;;
		esac
	done
done
python3 - "$work/times" <<'PY'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    t.setdefault(k, []).append(float(v))
h, p = statistics.median(t["hull"]), statistics.median(t["podman"])
print(f"median hull {h:.2f} s, podman {p:.2f} s, ratio hull/podman {h / p:.2f} ({len(t['hull'])} runs each)")
PY
