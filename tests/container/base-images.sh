#!/usr/bin/env bash
# base-images: local debian:bookworm and debian:bookworm-slim images, made from Debian's packages, for buildah.
#   bash tests/container/base-images.sh STORAGE_ROOT RUN_ROOT CACHE_DIR
# No container registry is needed: mmdebstrap builds each root file system from the Debian mirror (minbase,
# like the official images; the slim one without documentation, manual pages and locales, as Debian's slim
# images are), and buildah commits it as docker.io/library/debian:TAG in STORAGE_ROOT, where
# `buildah bud --pull=never` finds it for the Containerfile's FROM lines. The tarballs are cached in
# CACHE_DIR/DATE (one a day, so that security updates arrive); an image already committed from today's
# tarball is kept; new ones replace every image of STORAGE_ROOT (its build cache included).
set -euo pipefail
storage=$1 runroot=$2 cache=$3
day=$(date -u +%Y%m%d)
mkdir -p "$cache/$day"
# Yesterday's tarballs go: one day's pair is kept.
find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$day" -exec rm -rf {} +

suite=bookworm
mirrors=(
  "deb http://deb.debian.org/debian $suite main"
  "deb http://deb.debian.org/debian $suite-updates main"
  "deb http://deb.debian.org/debian-security $suite-security main"
)
slim_excludes=(
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-include=/usr/share/locale/locale.alias'
  --dpkgopt='path-exclude=/usr/share/lintian/*'
)

b() { buildah --root "$storage" --runroot "$runroot" "$@"; }

current() { # tag -> true when the committed image was made from today's tarball
  [ "$(b inspect --type image --format '{{index .ImageAnnotations "org.debian.tarball-mtime"}}' \
       "docker.io/library/debian:$1" 2>/dev/null)" = "$(stat -c %Y "$cache/$day/$1.tar")" ]
}

for tag in "$suite" "$suite-slim"; do
  tarball="$cache/$day/$tag.tar"
  [ -s "$tarball" ] && continue
  extra=()
  [ "$tag" = "$suite-slim" ] && extra=("${slim_excludes[@]}")
  echo "base-images: mmdebstrap $tag -> $tarball" >&2
  # merged /usr set up by mmdebstrap's hook (as Debian's images are), not by the usrmerge package and the perl
  # it pulls in; apt's lists removed as in the official images: the Containerfile runs apt-get update itself.
  mmdebstrap --quiet --variant=minbase --format=tar "${extra[@]}" \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$suite" "$tarball.part" "${mirrors[@]}"
  mv "$tarball.part" "$tarball"
done

if current "$suite" && current "$suite-slim"; then
  echo "base-images: docker.io/library/debian:$suite and :$suite-slim are up to date" >&2
  exit 0
fi
# New base images make every image and cached build layer in this storage stale: start it afresh, so that it
# holds one day's images at the most.
b rmi --all --force >/dev/null 2>&1 || true
for tag in "$suite" "$suite-slim"; do
  name="docker.io/library/debian:$tag"
  echo "base-images: committing $name" >&2
  ctr=$(b from scratch)
  b add --quiet "$ctr" "$cache/$day/$tag.tar" / >/dev/null
  b config --cmd /bin/bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --annotation "org.debian.tarball-mtime=$(stat -c %Y "$cache/$day/$tag.tar")" "$ctr"
  b commit --quiet --rm "$ctr" "$name" >/dev/null
done
