#!/usr/bin/env bash
# install-deps: the Debian packages to build, run and test deadline-cloud-exporter (needs root or sudo).
set -euo pipefail

packages=(
  build-essential meson ninja-build pkg-config
  libcurl4-openssl-dev libyajl-dev libssl-dev libmicrohttpd-dev libconfig-dev zlib1g-dev libisal-dev libexpat1-dev
  libgnutls28-dev libcrypt-dev libpcre2-dev scdoc
  python3 curl ca-certificates
)
if [[ " $* " == *" --test "* ]]; then
  # promtool and a real Prometheus server for the integration tests
  packages+=(prometheus)
  # systemd-analyze (the unit's exposure score, verify), strace (the system calls vs the unit's filter) and groff
  # (the man pages render without a warning)
  packages+=(systemd strace groff-base)
  # the house-rules unit test's format check: Debian 12's clang-format is version 14, the one it judges with
  packages+=(clang-format)
  # node and npm: deploy/kubernetes's schemas (tests/deploy); any node >= 14 will do, Debian's only if none is
  # libfaketime: the counters' window boundary reached in a minute, the exporter and the simulator an offset ahead
  packages+=(faketime)
  # the test CA and certificates (HTTPS), botocore's SigV4 as an oracle independent of the exporter's
  packages+=(python3-cryptography python3-botocore)
  command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
fi
if [[ " $* " == *" --container "* ]]; then
  # the container image's offline build and run (tests/container): base images from Debian's packages, buildah
  packages+=(buildah mmdebstrap)
fi
if [[ " $* " == *" --fuzz "* ]]; then
  # libFuzzer and the sanitizer runtimes (tests/fuzz/run.sh), valgrind (tests/run-sanitizers.sh)
  packages+=(clang libclang-rt-14-dev llvm valgrind)
fi

if [[ " $* " == *" --bench "* ]]; then
  # the benchmarks' baselines and load (tests/bench): nginx, wrk, the reference boto3 + prometheus_client exporter
  packages+=(nginx wrk python3-boto3 python3-prometheus-client)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root, or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
