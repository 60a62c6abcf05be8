#!/usr/bin/env bash
# Finds or builds the Go programs the examples/istio checks and end-to-end test run, and prints the
# directory holding them on the last line of stdout:
#
#   istioctl     Istio's CLI (validate, manifest generate, kube-inject), offline
#   extauthz     Istio's ext-authz sample server (samples/extauthz), the reference authorizer
#   go-httpbin   the app of Istio's httpbin sample (the same version as its image)
#   tcp-echo     the server of Istio's tcp-echo sample (samples/tcp-echo/src)
#   istio-crds   prints the CRDs of Istio's base chart from the Go package istio.io/istio/manifests
#   envoy-lite   our stand-in for istio-proxy (test/tools/envoy-lite)
#
# All come from the pinned module in test/tools/ (go.mod names the Istio commit) and are cached in
# .cache/e2e-tools/<istio version>/, keyed by the pins, our tools' source and the Go toolchain.
#
# E2E_TOOLS_DIR set: that directory, which must hold every tool above (built elsewhere).
#
# --no-build: only report what is already there; exit 3 (with the reason on stderr) rather than
# build. The test set-up uses it outside CI, where missing tools skip. Progress goes to stderr.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
name=e2e-tools
# shellcheck source=lib/go-cache.sh
source "$repo/scripts/lib/go-cache.sh"
parse_mode "$@"

gomod=$repo/test/tools
istio_version=$(awk '$1 == "istio.io/istio" { print $2; exit }' "$gomod/go.mod")
[[ -n $istio_version ]] || die "cannot read the pinned istio.io/istio version from $gomod/go.mod"
cache=$repo/.cache/e2e-tools/$istio_version
tools=(istioctl extauthz go-httpbin tcp-echo istio-crds envoy-lite)
packages=(
  istio.io/istio/istioctl/cmd/istioctl
  istio.io/istio/samples/extauthz/cmd/extauthz
  github.com/mccutchen/go-httpbin/v2/cmd/go-httpbin
  ./istio-crds
  ./envoy-lite
)

if [[ -n ${E2E_TOOLS_DIR:-} ]]; then
  for t in "${tools[@]}"; do
    [[ -x $E2E_TOOLS_DIR/$t ]] || { say "E2E_TOOLS_DIR=$E2E_TOOLS_DIR has no executable $t"; exit 3; }
  done
  echo "$E2E_TOOLS_DIR"
  exit 0
fi

find_go

stamp_of() {
  {
    cat "$gomod/go.mod" "$gomod/go.sum"
    find "$gomod" -name '*.go' -type f | LC_ALL=C sort | xargs cat
    [[ -n $go_bin ]] && GOTOOLCHAIN=local "$go_bin" version
  } | sha256sum | cut -d' ' -f1
}

is_cached() {
  [[ -f $cache/stamp && $(cat "$cache/stamp") == "$(stamp_of)" ]] || return 1
  for t in "${tools[@]}"; do [[ -x $cache/$t ]] || return 1; done
}

cached_or_locked "$gomod" "no cached e2e tools for istio $istio_version in $cache (build them: scripts/e2e-tools.sh)"

say "building ${tools[*]} (istio $istio_version) with $("$go_bin" version | cut -d' ' -f3); the first build takes several minutes"
started=$SECONDS
make_staging
(
  cd "$gomod"
  go_build --nice -ldflags "-s -w" -o "$staging/" "${packages[@]}"
  # Its package is named "src", so it gets its name here.
  go_build --nice -ldflags "-s -w" -o "$staging/tcp-echo" istio.io/istio/samples/tcp-echo/src
) >&2 || die "building the e2e tools failed"
say "built in $((SECONDS - started))s"

stamp_of >"$staging/stamp"
for t in "${tools[@]}"; do
  [[ -x $staging/$t ]] || die "the build produced no $t"
  rm -f "$cache/$t"
  mv "$staging/$t" "$cache/$t"
done
mv "$staging/stamp" "$cache/stamp"
echo "$cache"
