#!/usr/bin/env bash
# The one place this project's set-up runs apt. Sourced by guest/build.sh; run by scripts/ensure.mjs:
#
#   bash scripts/apt.sh install PACKAGE...   installs those not installed yet (as root, or through sudo)
#
# Functions for scripts that source it:
#   apt_update [APT-OPTION...]   `apt-get update`; a failure (a mirror mid-sync, one bad index) is
#                                retried once, then the caller goes on with the lists apt has
#   apt_install PACKAGE...       see above; fails only when the install fails, naming the packages
#   apt_as_root COMMAND...       runs COMMAND as root (directly, or through sudo)
# apt_update runs as root unless APT_UPDATE_AS_USER=1 (for lists kept in a folder of our own).

apt_log() { printf 'apt: %s\n' "$*" >&2; }
apt_die() { printf 'apt: error: %s\n' "$*" >&2; exit 1; }

apt_as_root() {
	if ((EUID == 0)); then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		apt_die "this step needs root: run it as root, or install sudo. The command was: $*"
	fi
}

apt_update() {
	local attempt run=(apt_as_root)
	[[ ${APT_UPDATE_AS_USER:-0} == 1 ]] && run=()
	for attempt in 1 2; do
		"${run[@]}" apt-get "$@" update -qq && return 0
		((attempt == 2)) || { apt_log "apt-get update failed; trying once more in 5 s"; sleep 5; }
	done
	apt_log "warning: apt-get update failed twice; going on with the package lists apt has"
}

apt_install() {
	local package candidate missing=() unknown=()
	for package; do
		dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q ' installed$' || missing+=("$package")
	done
	((${#missing[@]} > 0)) || return 0
	command -v apt-get >/dev/null || apt_die "apt-get is missing; install these Debian packages another way: ${missing[*]}"
	apt_log "installing Debian's ${missing[*]}"
	apt_update
	# dpkg's own lines (hundreds for a toolchain) are shown only when the install fails.
	local log
	log=$(mktemp)
	if DEBIAN_FRONTEND=noninteractive apt_as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
		rm -f "$log"
		return 0
	fi
	tail -n 30 "$log" >&2
	rm -f "$log"
	for package in "${missing[@]}"; do
		candidate=$(apt-cache policy "$package" 2>/dev/null | awk '/Candidate:/ { print $2 }')
		[[ -n $candidate && $candidate != '(none)' ]] || unknown+=("$package")
	done
	((${#unknown[@]} == 0)) ||
		apt_die "apt knows no package ${unknown[*]}: /etc/apt/sources.list* must name Debian 12's main archive"
	apt_die "apt-get install ${missing[*]} failed (apt's messages above say why)"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	case ${1:-} in
	install) shift; apt_install "$@" ;;
	*) apt_die "usage: bash scripts/apt.sh install PACKAGE..." ;;
	esac
fi
