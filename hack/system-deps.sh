#!/usr/bin/env bash
# Installs the Debian packages the tests, the demo, the real node and the image builds
# need, only when missing.
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v openssl >/dev/null || need+=(openssl)
# Run the Argo CD health check (deploy/argocd/health.lua) in the tests: Argo CD's own
# interpreter speaks Lua 5.1, and the script must run on 5.4 too.
command -v lua5.1 >/dev/null || need+=(lua5.1=5.1.5-9)
command -v lua5.4 >/dev/null || need+=(lua5.4=5.4.4-3+deb12u1)

# The real node and the images (hack/images): exact versions, bookworm's, the ones they
# were tested with.
command -v containerd >/dev/null || need+=(containerd=1.6.20~ds1-1+deb12u3)
command -v runc >/dev/null || need+=(runc=1.1.5+ds1-1+deb12u1)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins=1.1.1+ds1-3+b5)
command -v buildah >/dev/null || need+=(buildah=1.28.2+ds1-3+deb12u1+b3)
command -v debootstrap >/dev/null || need+=(debootstrap=1.0.128+nmu2+deb12u2)
command -v iptables >/dev/null || need+=(iptables=1.8.9-2)
command -v conntrack >/dev/null || need+=(conntrack=1:1.4.7-1+b2)
# Relays the node address to kube-apiserver's loopback listener, for pods.
command -v socat >/dev/null || need+=(socat=1.7.4.4-2)
# The pause image is a static C binary. Not pinned: libc6-dev must match the installed
# libc6, which security updates move.
command -v gcc >/dev/null || need+=(gcc)
dpkg-query -W -f='${Status}' libc6-dev 2>/dev/null | grep -q 'ok installed' || need+=(libc6-dev)

if [ "${#need[@]}" -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}"
