#!/usr/bin/env bash
# Makes sure qemu-system-x86_64 is installed: installs Debian's qemu-system-x86 when running as
# root with apt-get, and otherwise says exactly what to install.
set -euo pipefail

if command -v qemu-system-x86_64 >/dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "need-qemu: installing qemu-system-x86" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null
	command -v qemu-system-x86_64 >/dev/null
	exit 0
fi
echo "need-qemu: qemu-system-x86_64 is not installed; install it with:" >&2
echo "    sudo apt-get install qemu-system-x86      (Debian, Ubuntu)" >&2
echo "    sudo dnf install qemu-system-x86-core     (Fedora)" >&2
exit 1
