#!/usr/bin/env bash
# Finds or builds the kube-apiserver and etcd binaries that the envtest harness
# (test/harness/envtest/) runs, and prints the directory holding them on the last line of stdout.
#
#   $KUBEBUILDER_ASSETS set  -> that directory, as envtest users expect (must hold both binaries).
#   otherwise                -> .cache/envtest/<kubernetes version>/ in this repo: kube-apiserver built
#                               with the machine's Go from the pinned module in
#                               test/harness/envtest/gobuild/, and etcd from Debian's etcd-server
#                               package (installed with apt-get when run as root).
#
# --no-build: only report what is already there; exit 3 (with the reason on stderr) rather than
# build or install anything. The test set-up uses it outside CI, where a missing server skips.
# Progress goes to stderr; any failure exits non-zero.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
name=envtest-assets
# shellcheck source=lib/go-cache.sh
source "$repo/scripts/lib/go-cache.sh"
parse_mode "$@"

missing() {
  say "$*"
  if [[ $mode == check ]]; then exit 3; fi
  exit 1
}

if [[ -n ${KUBEBUILDER_ASSETS:-} ]]; then
  for bin in kube-apiserver etcd; do
    [[ -x $KUBEBUILDER_ASSETS/$bin ]] || missing "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable $bin"
  done
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

gomod=$repo/test/harness/envtest/gobuild
k8s_version=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$gomod/go.mod")
[[ $k8s_version =~ ^v1\.[0-9]+\.[0-9]+$ ]] || die "cannot read the pinned k8s.io/kubernetes version from $gomod/go.mod"
cache=$repo/.cache/envtest/$k8s_version

# etcd: Debian's etcd-server. Debian bookworm ships etcd 3.4, which this apiserver accepts (the
# smoke suite in test/envtest/ checks watches, CRDs and restarts against it).
etcd_bin=/usr/bin/etcd
if [[ ! -x $etcd_bin ]]; then
  [[ $mode == check ]] && missing "etcd is not installed (apt-get install etcd-server, or run $0)"
  [[ $(id -u) == 0 ]] || die "etcd is not installed and we are not root: run 'sudo apt-get install etcd-server' or set KUBEBUILDER_ASSETS"
  say "installing Debian's etcd-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 || die "apt-get update failed"
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq etcd-server >&2 || die "apt-get install etcd-server failed"
  [[ -x $etcd_bin ]] || die "etcd-server installed but $etcd_bin is missing"
fi

find_go

# The stamp ties a cached build to the pins and the toolchain, so changing either rebuilds.
stamp_of() {
  {
    grep -v '^//' "$gomod/go.mod"
    cat "$gomod/go.sum"
    [[ -n $go_bin ]] && GOTOOLCHAIN=local "$go_bin" version
    "$etcd_bin" --version 2>/dev/null | sed -n 1p
  } | sha256sum | cut -d' ' -f1
}

is_cached() {
  [[ -x $cache/kube-apiserver && -x $cache/etcd && -f $cache/stamp && $(cat "$cache/stamp") == "$(stamp_of)" ]]
}

cached_or_locked "$gomod" \
  "no cached kube-apiserver $k8s_version in $cache (build it: scripts/envtest-assets.sh, or set KUBEBUILDER_ASSETS)"

say "building kube-apiserver $k8s_version with $("$go_bin" version | cut -d' ' -f3) (the first build takes several minutes)"
started=$SECONDS
make_staging
minor=${k8s_version#v1.}
minor=${minor%%.*}
# The version variables are the ones Kubernetes' own build sets, so /version reports the release.
ldflags="-s -w"
ldflags+=" -X k8s.io/component-base/version.gitVersion=$k8s_version"
ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
ldflags+=" -X k8s.io/component-base/version.gitMinor=$minor"
ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
(
  cd "$gomod"
  go_build -ldflags "$ldflags" -o "$staging/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
) >&2 || die "building kube-apiserver $k8s_version failed"
say "built kube-apiserver in $((SECONDS - started))s"

ln -sf "$etcd_bin" "$staging/etcd"
stamp_of >"$staging/stamp"
rm -f "$cache/kube-apiserver" "$cache/etcd" "$cache/stamp"
mv "$staging/kube-apiserver" "$staging/etcd" "$cache/"
mv "$staging/stamp" "$cache/stamp"
echo "$cache"
