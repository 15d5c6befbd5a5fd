#!/usr/bin/env bash
# Builds the OCI image fixtures the tests boot (test/oci/out/, git-ignored), from Debian packages:
#   debian/            Debian 12 i386 minbase + python3-minimal (mmdebstrap), one layer, Cmd bash
#   hello_1.0_all.deb  a small local package for the dpkg -i test
#   busybox/           two layers from busybox-static:i386 (guest/.cache/debs): the upper one deletes
#                      /etc/gone.txt (whiteout) and empties /opq (opaque directory)
#   busybox.tar        the same layout as one tar
#   busybox-user/      its layers with User "app" (uid 1000) in the config
#   busybox-amd64/     its layers and config labelled linux/amd64 (bad-image)
#   busybox-bad-digest/ its first layer named by a digest its bytes do not have (bad-image)
# A fixture is rebuilt when it is missing or this script changed. Needs root for mmdebstrap's
# root mode, and the busybox .deb that guest/build.sh downloads (run here if it is missing).
#
# Usage: bash test/oci/build.sh [--force]
set -euo pipefail

script=${BASH_SOURCE[0]}
[[ $script == */* ]] || script=./$script
DIR=$(cd "${script%/*}" && pwd)
ROOT=$(cd "$DIR/../.." && pwd)
OUT=$DIR/out
WORK=$DIR/.cache
export LC_ALL=C SOURCE_DATE_EPOCH=1704067200

log() { printf 'oci fixtures: %s\n' "$*" >&2; }
die() { printf 'oci fixtures: error: %s\n' "$*" >&2; exit 1; }

stamp=$(sha256sum "$script" "$ROOT/scripts/oci-layout.mjs" | sha256sum | cut -c1-16)
if [[ ${1:-} != --force && -f $OUT/stamp && $(cat "$OUT/stamp") == "$stamp" ]]; then
	exit 0
fi
rm -rf "$OUT" "$WORK"
mkdir -p "$OUT" "$WORK"
layout() { node "$ROOT/scripts/oci-layout.mjs" "$@" >&2; }
# Archives as a runtime would read them: numeric owners, fixed times, sorted names.
pack() { tar --sort=name --numeric-owner --mtime=@$SOURCE_DATE_EPOCH --format=gnu -cf "$1" -C "$2" .; }

# --- busybox: two layers ----------------------------------------------------------------------
find_busybox() { ls "$ROOT"/guest/.cache/debs/busybox-static_*_i386.deb 2>/dev/null | head -n 1; }
busybox_deb=$(find_busybox) || true
if [[ -z $busybox_deb ]]; then
	# The default guest's build downloads it (and does nothing else if the guest is up to date).
	bash "$ROOT/guest/build.sh" >&2
	busybox_deb=$(find_busybox) || true
fi
[[ -n $busybox_deb ]] || die "no busybox-static i386 .deb in guest/.cache/debs after bash guest/build.sh"
dpkg-deb -x "$busybox_deb" "$WORK/bb"
lower=$WORK/lower upper=$WORK/upper
mkdir -p "$lower"/{bin,etc,opq,tmp,root,home/app} "$upper"/{etc,opq,home/app}
cp "$WORK/bb/bin/busybox" "$lower/bin/busybox"
for applet in sh cat ls echo env pwd id mkdir rm test [ stat readlink sleep uname hostname; do
	ln -s busybox "$lower/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' >"$lower/etc/passwd"
printf 'root:x:0:\napp:x:1000:\n' >"$lower/etc/group"
echo 'deleted by the upper layer' >"$lower/etc/gone.txt"
echo 'kept from the lower layer' >"$lower/etc/kept.txt"
ln "$lower/etc/kept.txt" "$lower/etc/hard.txt"
echo 'hidden by the opaque upper directory' >"$lower/opq/lower.txt"
chmod 1777 "$lower/tmp"
chmod 4755 "$lower/bin/busybox"
chown 1000:1000 "$lower/home/app"
mkfifo "$lower/etc/fifo"
echo 'from the upper layer' >"$upper/opq/upper.txt"
: >"$upper/etc/.wh.gone.txt"
: >"$upper/opq/.wh..wh..opq"
echo 'upper layer' >"$upper/home/app/layer.txt"
chown 1000:1000 "$upper/home/app" "$upper/home/app/layer.txt"
touch -d @1600000000 "$upper/home/app/layer.txt"
pack "$WORK/lower.tar" "$lower"
pack "$WORK/upper.tar" "$upper"
cat >"$WORK/busybox.json" <<'JSON'
{"Env": ["PATH=/bin", "GREETING=hello from Env"], "Entrypoint": ["/bin/sh", "-c"],
 "Cmd": ["echo \"cmd ran in $(pwd) as $(id -u) with $GREETING\"; exec sh"], "WorkingDir": "/home/app"}
JSON
layout "$OUT/busybox" "$WORK/busybox.json" "$WORK/lower.tar" "$WORK/upper.tar"
tar --sort=name -cf "$OUT/busybox.tar" -C "$OUT/busybox" .
cat >"$WORK/busybox-user.json" <<'JSON'
{"Env": ["PATH=/bin"], "User": "app", "Entrypoint": ["/bin/sh", "-c"],
 "Cmd": ["echo \"user $(id -u):$(id -g) home $HOME in $(pwd)\"; exec sh"], "WorkingDir": "/home/app"}
JSON
layout "$OUT/busybox-user" "$WORK/busybox-user.json" "$WORK/lower.tar" "$WORK/upper.tar"
layout "$OUT/busybox-amd64" "$WORK/busybox.json" "$WORK/lower.tar" "$WORK/upper.tar" --arch amd64
layout "$OUT/busybox-bad-digest" "$WORK/busybox.json" "$WORK/lower.tar" "$WORK/upper.tar" --bad-layer-digest

# --- a small local .deb -----------------------------------------------------------------------
deb=$WORK/hello
mkdir -p "$deb/DEBIAN" "$deb/usr/share/cvm-hello"
printf 'Package: cvm-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: container-vm <tests@container-vm.invalid>\nDescription: container-vm test package\n' >"$deb/DEBIAN/control"
echo 'installed by dpkg -i' >"$deb/usr/share/cvm-hello/hello.txt"
dpkg-deb --root-owner-group -Zgzip --build "$deb" "$OUT/hello_1.0_all.deb" >/dev/null

# --- Debian 12 i386 minbase + python3-minimal --------------------------------------------------
{ command -v mmdebstrap && command -v arch-test; } >/dev/null || bash "$ROOT/scripts/apt.sh" install mmdebstrap arch-test
# The mirror this machine's apt sources name; only bookworm and bookworm-updates, since the
# security archive's i386 index has not always matched its Release file.
mirror=$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Identifier: Packages' 2>/dev/null |
	awk '$3 == "main" && $2 !~ /-(security|updates|backports)$/ { print $1; exit }') || true
[[ -n $mirror ]] || die "this machine's apt sources name no Debian mirror with a main component"
log "mmdebstrap: Debian 12 i386 minbase + python3-minimal from $mirror"
mmdebstrap --quiet --variant=minbase --arch=i386 --include=python3-minimal \
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
	bookworm "$WORK/debian.tar" "deb $mirror bookworm main" "deb $mirror bookworm-updates main"
echo '{"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["bash"]}' >"$WORK/debian.json"
layout "$OUT/debian" "$WORK/debian.json" "$WORK/debian.tar"

rm -rf "$WORK"
echo "$stamp" >"$OUT/stamp"
log "built $OUT"
