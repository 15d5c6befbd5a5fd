#!/usr/bin/env bash
# Builds container-vm's default x86 guest for the v86 engine from Debian 12 packages alone:
# a 686 kernel (bzImage), a busybox initramfs with the virtio/9p modules and guest/rootfs, and
# SeaBIOS, plus guest/out/manifest.json naming them. See guest/README.md.
#
# Usage: bash guest/build.sh [--force] [--update]
#   --force   rebuild the outputs even if they are up to date
#   --update  run apt-get update first (to pick up a newer kernel)
set -euo pipefail

script=${BASH_SOURCE[0]}
[[ $script == */* ]] || script=./$script
GUEST_DIR=$(cd "${script%/*}" && pwd)
ROOTFS_SRC=$GUEST_DIR/rootfs
DEB_DIR=$GUEST_DIR/.cache/debs
WORK_DIR=$GUEST_DIR/.cache/work
OUT_DIR=$GUEST_DIR/out

# Kernel command line that boots fastest in v86 (see /init for the p9*= arguments it reads).
# The blacklisted initcalls are self-tests and set-up nothing here uses (kprobe trace events, the
# certificates that check module signatures): 4-5 s of boot in v86 together.
CMDLINE="console=ttyS0 quiet loglevel=3 tsc=reliable mitigations=off cryptomgr.notests noisapnp pnpbios=off ipv6.disable=1 audit=0"
CMDLINE+=" initcall_blacklist=init_kprobe_trace,crypto_kdf108_init,blake2s_mod_init,load_system_certificate_list"
# Freed pages are zeroed (the unpacked initrd's, boot-time buffers): v86 leaves zero pages out of a
# saved state, so the boot snapshot guest/out ships (scripts/boot-snapshot.ts) and the user's are smaller.
CMDLINE+=" init_on_free=1"
# Guest RAM in MiB. v86 loads the initrd at 64 MiB, so this must exceed 64 + the initrd size.
MEMORY_MIB=128
# Timestamp of every initramfs entry, for reproducible archives.
MTIME=${SOURCE_DATE_EPOCH:-0}

export LC_ALL=C

log() { printf 'guest: %s\n' "$*" >&2; }
die() { printf 'guest: error: %s\n' "$*" >&2; exit 1; }

force=0 update=0
for arg in "$@"; do
	case $arg in
	--force) force=1 ;;
	--update) update=1 ;;
	-h | --help) sed -n '2,8s/^# \{0,1\}//p' "$script"; exit 0 ;;
	*) die "unknown argument: $arg (try --help)" ;;
	esac
done

# --- The build host -------------------------------------------------------------------------

if ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
	die "this script needs a Debian 12 (bookworm) system with apt-get and dpkg: it downloads the
  Debian packages linux-image-686:i386, busybox-static:i386 and seabios and unpacks them.
  On another system, run it in a Debian 12 container from the repository root, e.g.:
    docker run --rm -v \"\$PWD\":/src -w /src debian:12 bash guest/build.sh"
fi
missing=()
for tool in apt-cache dpkg-deb sha256sum find sort od truncate stat; do
	command -v "$tool" >/dev/null || missing+=("$tool")
done
((${#missing[@]} == 0)) || die "missing tools: ${missing[*]} (Debian packages apt, dpkg, coreutils, findutils)"
if [[ -r /etc/os-release ]] && ! grep -qE '^(ID|VERSION_CODENAME)=("?)(debian|bookworm)' /etc/os-release; then
	log "warning: this is not Debian; the package names used here are Debian 12's"
fi

# apt for the guest's i386 packages, with its own sources, lists and cache under guest/.cache/apt:
# the build never changes the machine's apt configuration (no dpkg --add-architecture) and needs no
# root. The sources are Debian 12's suites on the mirrors this machine's own apt sources name.
# shellcheck source=../scripts/apt.sh
source "$GUEST_DIR/../scripts/apt.sh"
APT_DIR=$GUEST_DIR/.cache/apt
apt_opts=(
	-o "Dir::Etc::SourceList=$APT_DIR/sources.list" -o "Dir::Etc::SourceParts=$APT_DIR/sources.list.d"
	-o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR/cache" -o "Dir::State::Status=$APT_DIR/status"
	-o APT::Architecture=i386 -o APT::Architectures::=i386
)
((EUID != 0)) || apt_opts+=(-o APT::Sandbox::User=root) # apt's _apt user cannot write to our folders
write_guest_sources() {
	local targets mirror security keyring='' list
	targets=$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Identifier: Packages' 2>/dev/null) || true
	mirror=$(awk '$3 == "main" && $2 !~ /-(security|updates|backports)$/ { print $1; exit }' <<<"$targets")
	security=$(awk '$3 == "main" && $2 ~ /-security$/ { print $1; exit }' <<<"$targets")
	[[ -n $mirror ]] || die "this machine's apt sources (/etc/apt/sources.list*) name no Debian mirror with a main component"
	[[ -r /usr/share/keyrings/debian-archive-keyring.gpg ]] && keyring=' signed-by=/usr/share/keyrings/debian-archive-keyring.gpg'
	mkdir -p "$APT_DIR"/{lists/partial,cache/archives/partial,sources.list.d}
	: >>"$APT_DIR/status"
	list="deb [arch=i386$keyring] $mirror bookworm main"$'\n'"deb [arch=i386$keyring] $mirror bookworm-updates main"$'\n'
	[[ -z $security ]] || list+="deb [arch=i386$keyring] $security bookworm-security main"$'\n'
	# New sources mean new lists.
	if [[ $(cat "$APT_DIR/sources.list" 2>/dev/null) != "${list%$'\n'}" ]]; then
		printf '%s' "$list" >"$APT_DIR/sources.list"
		update=1
	fi
}

# apt's candidate of each PACKAGE[:ARCH] into pkg_version/pkg_arch/pkg_depends, in one apt-cache
# call: apt keeps no pkgcache for our lists, so each call reads all of them (~1 s).
declare -A pkg_version=() pkg_arch=() pkg_depends=()
query() {
	local stanzas spec name want p a v d
	stanzas=$(apt-cache "${apt_opts[@]}" show --no-all-versions "$@" 2>/dev/null |
		awk -v RS= -F '\n' '{
			p = a = v = d = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^Package: /) p = substr($i, 10)
				else if ($i ~ /^Architecture: /) a = substr($i, 15)
				else if ($i ~ /^Version: /) v = substr($i, 10)
				else if ($i ~ /^Depends: /) d = substr($i, 10)
			}
			print p "\t" a "\t" v "\t" d
		}') || true
	for spec in "$@"; do
		name=${spec%%:*} want=${spec#*:}
		[[ $want == "$spec" ]] && want=
		while IFS=$'\t' read -r p a v d; do
			if [[ $p == "$name" && (-z $want || $a == "$want" || $a == all) ]]; then
				pkg_version[$spec]=$v pkg_arch[$spec]=$a pkg_depends[$spec]=$d
				break
			fi
		done <<<"$stanzas"
	done
}

apt_updated=0
guest_apt_update() {
	log "apt-get update (i386 lists in ${APT_DIR#"$GUEST_DIR/"})"
	apt_updated=1
	APT_UPDATE_AS_USER=1 apt_update "${apt_opts[@]}"
}

write_guest_sources
packages=(linux-image-686:i386 busybox-static:i386 seabios)
((update == 0)) || guest_apt_update
query "${packages[@]}"
if [[ -z ${pkg_version[linux-image-686:i386]:-} && $apt_updated == 0 ]]; then
	guest_apt_update
	query "${packages[@]}"
fi
for spec in "${packages[@]}"; do
	[[ -n ${pkg_version[$spec]:-} ]] ||
		die "apt knows no package $spec in Debian 12's main archive ($APT_DIR/sources.list)"
done
# linux-image-686 is a metapackage depending on the current linux-image-6.1.0-<N>-686.
kernel_pkg=$(grep -o 'linux-image-[0-9][^ ,]*-686' <<<"${pkg_depends[linux-image-686:i386]}" | head -n 1) ||
	die "linux-image-686:i386 depends on no kernel package: ${pkg_depends[linux-image-686:i386]}"
kernel_release=${kernel_pkg#linux-image-}
# Its exact version is in that dependency too, which saves another apt-cache call.
if [[ ${pkg_depends[linux-image-686:i386]} =~ $kernel_pkg\ \(=\ ([^\)]+)\) ]]; then
	pkg_version[$kernel_pkg:i386]=${BASH_REMATCH[1]} pkg_arch[$kernel_pkg:i386]=i386
else
	query "$kernel_pkg:i386"
fi

# --- Up to date? ------------------------------------------------------------------------------

# The file name apt-get download gives a package's candidate .deb.
deb_name() {
	[[ -n ${pkg_version[$1]:-} ]] || query "$1"
	[[ -n ${pkg_version[$1]:-} ]] || die "apt knows no package $1"
	local version=${pkg_version[$1]}
	printf '%s_%s_%s.deb' "${1%%:*}" "${version//:/%3a}" "${pkg_arch[$1]}"
}
declare -A package=([kernel]=$kernel_pkg:i386 [busybox]=busybox-static:i386 [seabios]=seabios)

# Not compressed: unpacking gzip in the guest cost more boot time than loading 1.4 MB more.
initrd_name=initramfs.cpio
outputs=(bzImage "$initrd_name" bios.bin manifest.json)
inputs=$(
	for key in kernel busybox seabios; do deb_name "${package[$key]}"; echo; done
	printf '%s\n' "$CMDLINE" "$MEMORY_MIB" "$MTIME"
	cd "$GUEST_DIR" && find build.sh rootfs -type f -print0 | sort -z | xargs -0 sha256sum
	find rootfs -type f -perm -u+x | sort
)
inputs_hash=$(sha256sum <<<"$inputs" | cut -d ' ' -f 1)
up_to_date=1
for file in "${outputs[@]}" .inputs; do
	[[ -s $OUT_DIR/$file ]] || up_to_date=0
done
if ((force == 0 && up_to_date == 1)) && [[ $(<"$OUT_DIR/.inputs") == "$inputs_hash" ]]; then
	log "up to date (kernel $kernel_release)"
	for file in "${outputs[@]}"; do printf '%s\n' "$OUT_DIR/$file"; done
	exit 0
fi

# --- Packages (cached in guest/.cache/debs) ---------------------------------------------------

mkdir -p "$DEB_DIR"
declare -A deb_file=()
fetch() { # fetch PACKAGE[:ARCH] KEY: apt's candidate .deb into the cache; its path into deb_file[KEY]
	local pkg=$1 key=$2 file
	[[ -n ${pkg_version[$pkg]:-} ]] || query "$pkg" # here, not in deb_name's subshell
	file=$DEB_DIR/$(deb_name "$pkg")
	if [[ ! -s $file ]]; then
		log "downloading ${file##*/}"
		if ! (cd "$DEB_DIR" && apt-get "${apt_opts[@]}" download -qq "$pkg=${pkg_version[$pkg]}"); then
			((apt_updated == 0)) || die "apt-get download $pkg failed"
			guest_apt_update # the mirror may have moved on since the lists were fetched
			unset "pkg_version[$pkg]"
			fetch "$pkg" "$key"
			return
		fi
		[[ -s $file ]] || die "apt-get download $pkg did not leave $file"
	fi
	deb_file[$key]=$file
}
for key in kernel busybox seabios; do fetch "${package[$key]}" "$key"; done

# --- Unpack -----------------------------------------------------------------------------------

rm -rf "$WORK_DIR"
mkdir -p "$WORK_DIR"/{kernel,busybox,seabios}
for key in kernel busybox seabios; do
	log "unpacking ${deb_file[$key]##*/}"
	dpkg-deb -x "${deb_file[$key]}" "$WORK_DIR/$key"
done
bzimage=$WORK_DIR/kernel/boot/vmlinuz-$kernel_release
moddir=$WORK_DIR/kernel/lib/modules/$kernel_release
busybox=$WORK_DIR/busybox/bin/busybox
bios=$WORK_DIR/seabios/usr/share/seabios/bios.bin
for file in "$bzimage" "$moddir/modules.builtin" "$busybox" "$bios"; do
	[[ -s $file ]] || die "the packages have no $file"
done

# --- Initramfs tree ---------------------------------------------------------------------------

root=$WORK_DIR/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,tmp,run,root,mnt/opfs,lib/modules}
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
# Applet links, made here so that the guest need not run busybox --install at boot (~0.5 s in v86).
# The i386 busybox lists its applets itself where this machine runs i386 binaries (most x86-64
# kernels do); elsewhere the same busybox-static version built for this machine is asked.
applets=$("$busybox" --list-full 2>/dev/null) || applets=
if [[ -z $applets ]]; then
	native=busybox-static:$(dpkg --print-architecture)
	apt_opts=() # this machine's own apt lists know its own architecture's packages
	query "$native"
	version=${pkg_version[busybox-static:i386]} native_version=${pkg_version[$native]:-}
	if [[ -n $native_version && ${native_version%+b[0-9]*} == "${version%+b[0-9]*}" ]]; then
		log "this machine cannot run i386 binaries; asking $native $native_version for the applet list"
		fetch "$native" busybox_native
		mkdir -p "$WORK_DIR/busybox_native"
		dpkg-deb -x "${deb_file[busybox_native]}" "$WORK_DIR/busybox_native"
		applets=$("$WORK_DIR/busybox_native/bin/busybox" --list-full 2>/dev/null) || applets=
	fi
fi
applet_links=() # written straight into the archive by write_cpio, which is much faster than ln
if [[ -n $applets ]]; then
	while read -r applet; do
		applet=${applet#/}
		[[ -e $root/$applet || -L $root/$applet ]] || applet_links+=("$applet")
	done <<<"$applets"
else
	log "warning: cannot list the busybox applets here; the guest will make its links at boot"
fi

# The modules rootfs/etc/modules names, each preceded by the modules it needs, read from its own
# .modinfo (depends=): the package has no modules.dep, and Debian's kernel updates move symbols
# between modules (6.1.0-57 made virtio need virtio_ring), so the order is worked out here for the
# kernel at hand. /init loads them in the order of the /etc/modules written into the initramfs;
# sbin/net-up loads those of /etc/modules.net (the network card's), only when there is a card, so
# that a guest without a network does not pay for them at boot. A module in both lists, or needed
# by modules of both, is loaded by /init.
# Signatures are cut off: the kernel then only marks itself tainted, and loading is about twice as
# fast. Trailer layout: [PKCS#7 signature] [12-byte struct module_signature ending in the big-endian
# u32 signature length] ["~Module signature appended~\n"].
strip_signature() {
	local file=$1 size sig_len
	size=$(stat -c %s "$file")
	tail -c 28 "$file" | cmp -s - <(printf '~Module signature appended~\n') || return 0
	sig_len=$(tail -c 32 "$file" | head -c 4 | od -An -tu1 | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
	((sig_len > 0 && sig_len + 40 < size)) || die "bad module signature trailer in $file"
	truncate -s $((size - 40 - sig_len)) "$file"
}
declare -A module_file=() module_added=()
while read -r file; do # module names use _ where file names may use -
	name=${file##*/} name=${name%.xz} name=${name%.ko}
	module_file[${name//-/_}]=$file
done < <(find "$moddir/kernel" -name '*.ko' -o -name '*.ko.xz')
module_order=() # of the list being read
declare -A module_lists=() # list name -> its modules in loading order, one a line
add_module() { # add_module NAME: copies NAME's .ko and, first, those of the modules it depends on
	local module=${1//-/_} found=${module_file[${1//-/_}]:-} ko dep
	[[ -z ${module_added[$module]:-} ]] || return 0
	module_added[$module]=1
	if [[ -z $found ]]; then
		grep -qE "/${module//_/[-_]}\.ko$" "$moddir/modules.builtin" && return 0 # built in: nothing to load
		die "kernel $kernel_release has no module $module"
	fi
	ko=$root/lib/modules/$module.ko
	case $found in
	*.xz) xz -dc "$found" >"$ko" ;;
	*) cp "$found" "$ko" ;;
	esac
	strip_signature "$ko"
	for dep in $(tr '\0' '\n' <"$ko" | sed -n 's/^depends=//p' | tr ',' ' '); do add_module "$dep"; done
	module_order+=("$module")
}
for list in modules modules.net; do
	module_order=()
	while read -r module; do
		case $module in '' | '#'*) continue ;; esac
		add_module "$module"
	done <"$ROOTFS_SRC/etc/$list"
	module_lists[$list]=$(printf '%s\n' "${module_order[@]}")
done

cp -R "$ROOTFS_SRC/." "$root/"
for list in "${!module_lists[@]}"; do
	printf '%s\n' "${module_lists[$list]}" >"$root/etc/$list"
done
chmod -R u+rwX,go+rX,go-w "$root"
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"

# --- cpio (newc) writer -----------------------------------------------------------------------
# Written here rather than with GNU cpio so that the build needs neither root (for the device
# node) nor the cpio package, and every entry is owned by root with a fixed timestamp.

ino=0
pads=('' '\0' '\0\0' '\0\0\0')
cpio_entry() { # cpio_entry NAME MODE SIZE [RDEV_MAJOR RDEV_MINOR]; the data follows on stdout
	local name=$1 mode=$2 size=$3 nlink=1
	((mode & 0040000)) && nlink=2
	ino=$((ino + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
		"$ino" "$mode" 0 0 "$nlink" "$MTIME" "$size" 0 0 "${4:-0}" "${5:-0}" $((${#name} + 1)) 0 "$name"
	printf "${pads[(4 - (110 + ${#name} + 1) % 4) % 4]}"
}
cpio_pad() { printf "${pads[(4 - $1 % 4) % 4]}"; }
write_cpio() { # write_cpio DIR: the tree under DIR, /dev/console and the applet links, to stdout
	local path type perm size target
	# Sorted by path, parents first (the tab after a name sorts before the slash of its children).
	(cd "$1" && find . -mindepth 1 -printf '%P\t%y\t%m\t%s\t%l\n') | sort |
		while IFS=$'\t' read -r path type perm size target; do
			case $type in
			d) cpio_entry "$path" $((0040000 | 8#$perm)) 0 ;;
			f)
				cpio_entry "$path" $((0100000 | 8#$perm)) "$size"
				cat "$1/$path"
				cpio_pad "$size"
				;;
			l)
				cpio_entry "$path" $((0120000 | 0777)) ${#target}
				printf '%s' "$target"
				cpio_pad ${#target}
				;;
			*) die "cannot pack $path (type $type)" ;;
			esac
		done
	# After the tree, so that their directories come first.
	cpio_entry dev/console $((0020000 | 0600)) 0 5 1 # the kernel opens it before /init runs
	for path in "${applet_links[@]}"; do
		cpio_entry "$path" $((0120000 | 0777)) 12
		printf /bin/busybox
	done
	cpio_entry TRAILER!!! 0 0
}

# --- Outputs ----------------------------------------------------------------------------------

mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR/.inputs"
for file in "$OUT_DIR"/*; do # left by older builds (guest/out holds nothing else)
	case " ${outputs[*]} " in *" ${file##*/} "*) ;; *) rm -rf "$file" ;; esac
done
log "packing the initramfs"
# Each output is written beside its final name and renamed over it, so a server never sees half.
write_cpio "$root" >"$OUT_DIR/$initrd_name.tmp"
cp "$bzimage" "$OUT_DIR/bzImage.tmp"
cp "$bios" "$OUT_DIR/bios.bin.tmp"
for file in "$initrd_name" bzImage bios.bin; do mv "$OUT_DIR/$file.tmp" "$OUT_DIR/$file"; done

initrd_size=$(stat -c %s "$OUT_DIR/$initrd_name")
((MEMORY_MIB * 1048576 > 64 * 1048576 + initrd_size)) || die "MEMORY_MIB=$MEMORY_MIB is too small for the initrd"
id=$(cd "$OUT_DIR" && cat bzImage "$initrd_name" bios.bin | sha256sum | cut -c 1-16)
id=$(printf '%s %s %s' "$id" "$CMDLINE" "$MEMORY_MIB" | sha256sum | cut -c 1-16)
cat >"$OUT_DIR/manifest.json.tmp" <<EOF
{
  "kernel": "bzImage",
  "initrd": "$initrd_name",
  "bios": "bios.bin",
  "cmdline": "$CMDLINE",
  "memory": $MEMORY_MIB,
  "kernelRelease": "$kernel_release",
  "id": "$id"
}
EOF
mv "$OUT_DIR/manifest.json.tmp" "$OUT_DIR/manifest.json"
printf '%s\n' "$inputs_hash" >"$OUT_DIR/.inputs"
rm -rf "$WORK_DIR"
# Keep only the packages this build used.
for file in "$DEB_DIR"/*.deb; do
	case " ${deb_file[*]} " in *" $file "*) ;; *) rm -f "$file" ;; esac
done

log "built the guest (kernel $kernel_release) in $OUT_DIR:"
(cd "$OUT_DIR" && ls -l "${outputs[@]}" | awk '{ printf "guest:   %-20s %9d bytes\n", $9, $5 }') >&2
for file in "${outputs[@]}"; do printf '%s\n' "$OUT_DIR/$file"; done
