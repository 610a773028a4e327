#!/bin/sh
# install-if-absent: meson install script: copies SOURCE to TARGET (under $DESTDIR) unless TARGET exists
set -eu

if [ $# -ne 2 ]; then
	echo "usage: install-if-absent.sh SOURCE TARGET" >&2
	exit 2
fi
source=$1
# meson makes DESTDIR absolute before running install scripts; TARGET is absolute (prefix/sysconfdir).
target=${DESTDIR:-}$2

# An administrator's file (or a symbolic link to one) is never replaced: a reinstall keeps it as it is.
if [ -e "$target" ] || [ -L "$target" ]; then
	[ -n "${MESON_INSTALL_QUIET:-}" ] || echo "Keeping existing $target"
	exit 0
fi
mkdir -p "$(dirname "$target")"
# Copied under a temporary name first, so an interrupted install never leaves half a file to keep later.
install -m 0644 "$source" "$target.tmp.$$"
mv -f "$target.tmp.$$" "$target"
[ -n "${MESON_INSTALL_QUIET:-}" ] || echo "Installing $source to $target"
