# Sourced by scripts/envtest-assets.sh and scripts/e2e-tools.sh: what both do to find a Go build
# cached in .cache/<what>/<version>/ or make it. The caller sets `name` (its messages' prefix),
# `cache` (the directory) and defines stamp_of and is_cached; the cache's layout, its stamp and
# its last step (moving the built files in) stay the caller's.
#
#   parse_mode "$@"           mode=build, or mode=check with --no-build; anything else: usage, exit 2
#   find_go                   go_bin: go on PATH, else /usr/local/go/bin/go, else empty
#   cached_or_locked GOMOD MSG
#                             a cache hit prints $cache and exits 0; with --no-build, a miss says
#                             MSG and exits 3; otherwise it needs Go (GOMOD/go.mod names the
#                             version), takes $cache.lock (one build at a time: .ci/run and a test
#                             set-up may both get here) and looks again before it returns
#   make_staging              staging: a new directory beside $cache, removed at exit
#   go_build [--nice] ARGS    `go build -trimpath ARGS` with the local toolchain, no cgo, the
#                             module as pinned (--nice: at nice 10)

say() { echo "$name: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

parse_mode() {
  mode=build
  case "${1:-}" in
    '') ;;
    --no-build) mode=check ;;
    *)
      echo "usage: $0 [--no-build]" >&2
      exit 2
      ;;
  esac
}

find_go() {
  go_bin=$(command -v go || true)
  if [[ -z $go_bin && -x /usr/local/go/bin/go ]]; then go_bin=/usr/local/go/bin/go; fi
}

cached_or_locked() {
  local gomod=$1 miss=$2
  if is_cached; then
    echo "$cache"
    exit 0
  fi
  if [[ $mode == check ]]; then
    say "$miss"
    exit 3
  fi
  [[ -n $go_bin ]] || die "no Go toolchain found (need go >= $(awk '$1 == "go" { print $2; exit }' "$gomod/go.mod"))"
  mkdir -p "$cache"
  exec 9>"$cache.lock"
  flock 9
  if is_cached; then
    echo "$cache"
    exit 0
  fi
}

make_staging() {
  staging=$(mktemp -d "$cache.build.XXXXXX")
  trap 'rm -rf "$staging"' EXIT
}

go_build() {
  local nice=()
  if [[ $1 == --nice ]]; then
    nice=(nice -n 10)
    shift
  fi
  GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" "${nice[@]}" "$go_bin" build -trimpath "$@"
}
