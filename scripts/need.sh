#!/usr/bin/env bash
# Makes sure commands are installed: each argument is COMMAND:DEBIAN-PACKAGE. Missing ones are
# installed with apt-get when running as root; otherwise it says exactly what to install.
set -euo pipefail

missing=()
for spec in "$@"; do
	cmd=${spec%%:*} pkg=${spec#*:}
	command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "need: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	for spec in "$@"; do
		command -v "${spec%%:*}" >/dev/null
	done
	exit 0
fi
echo "need: missing ${missing[*]}; install with:" >&2
echo "    sudo apt-get install ${missing[*]}      (Debian, Ubuntu)" >&2
exit 1
