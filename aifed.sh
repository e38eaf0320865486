#!/usr/bin/env bash
# aifed's two commands. On a fresh Debian 12 machine, as root:
#   ./aifed.sh demo [--duration N]   install what is missing, build (Release), run a
#                                    local federation of seven simulated sites
#   ./aifed.sh test                  install what is missing, build (Debug + ASan, clang)
#                                    and the fuzz targets, run every test with ctest
# Other verbs: build, install-deps, help.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

# Debian 12 packages the build and the tests need, by name.
PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-all-dev libboost-json1.81-dev
  libzmq3-dev cppzmq-dev
  libsqlite3-dev sqlite3 libssl-dev
  libjwt-dev   # OpenID Connect token signatures (coordinator/identity/oidc.h)
  libspdlog-dev libcli11-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  zlib1g-dev python3
  chromium   # browser tests (the simulator's report, the console)
  slurm-wlm munge   # the Slurm backend's integration tests (scripts/test-slurm.sh)
  prometheus   # promtool checks /metrics (tests/integration/metrics_test.cpp)
  iproute2 util-linux curl   # the chaos suite: ip netns + veth, mount, headers of a 503
  clang-14 libfuzzer-14-dev   # the libFuzzer targets (tests/fuzz), built in build/fuzz
  lintian systemd adduser   # the Debian packages' tests (tests/package): lintian, systemd-analyze, the postinst
)

log() { printf '\033[1m[aifed]\033[0m %s\n' "$*" >&2; }

install_deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { log "not root and no sudo: install ${missing[*]} yourself"; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The browser tests (tests/browser) run on Node.js with npm `playwright-core`, driving
# Debian's chromium. Installs node/npm when missing and runs `npm ci` when node_modules
# is missing or package-lock.json changed since the last install.
browser_test_deps() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    log "installing Node.js for the browser tests"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  local dir=tests/browser
  local stamp=$dir/node_modules/.aifed-package-lock.sha256
  local want
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ ! -d "$dir/node_modules/playwright-core" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing the browser tests' npm packages (npm ci in $dir)"
    # playwright-core never downloads a browser; the tests use /usr/bin/chromium.
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$stamp"
  fi
}

# build DIR TYPE [cmake args...]
build() {
  local dir=$1 type=$2
  shift 2
  # Configured every time (seconds when nothing changed), so an option added to a call
  # here reaches a build directory made before.
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
  log "building $type in $dir"
  # Progress lines hidden; with pipefail the build's own status decides.
  cmake --build "$dir" -- -j"$(nproc)" 2>&1 | { grep -v '^\[[0-9]*/[0-9]*\]' || true; }
}

# The libFuzzer targets (tests/fuzz) with clang-14 in build/fuzz: only the libraries they
# link are built.
build_fuzz() {
  local dir=build/fuzz
  if [ ! -f "$dir/build.ninja" ]; then
    # Short runs only here: -O0 with line tables builds ~40 % faster than the -O1 -g that
    # long runs want (docs/testing.md, "Fuzzing").
    CC=clang-14 CXX=clang++-14 cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
      -DCMAKE_CXX_FLAGS_DEBUG=-gline-tables-only \
      -DAIFED_FUZZ_OPT=-O0 -DAIFED_FUZZ=ON >/dev/null
  fi
  log "building the fuzz targets (clang-14) in $dir"
  cmake --build "$dir" -t aifed_fuzzers -- -j"$(nproc)" 2>&1 | { grep -v '^\[[0-9]*/[0-9]*\]' || true; }
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
case "$cmd" in
  install-deps)
    install_deps
    ;;
  build)
    install_deps
    build build/release Release -DAIFED_BUILD_TESTS=OFF
    ;;
  demo)
    install_deps
    build build/release Release -DAIFED_BUILD_TESTS=OFF
    exec build/release/cli/aifed demo --bin-dir build/release \
      --federation config/federation-7.toml --state-dir .aifed-demo "$@"
    ;;
  test)
    install_deps
    build_fuzz
    # The asan build registers a bounded run of each fuzz target (fuzz.<target>). No test
    # runs the benchmarks (bench/): they are built by the demo's Release build and for
    # measurements (docs/benchmarks.md), not here, which keeps the test build shorter.
    # clang-14 rather than gcc 12: with ASan + UBSan it compiles this tree in about half
    # the time, and line tables are all a sanitizer report needs (docs/testing.md).
    if [ -f build/asan/CMakeCache.txt ] &&
       ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++-14$' build/asan/CMakeCache.txt; then
      log "build/asan was configured with another compiler: starting it afresh"
      rm -rf build/asan
    fi
    CC=clang-14 CXX=clang++-14 build build/asan Debug -DASAN=ON -DAIFED_WERROR=ON \
      -DAIFED_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS_DEBUG=-gline-tables-only \
      -DAIFED_FUZZ_BUILD_DIR="$PWD/build/fuzz"
    browser_test_deps
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
    export AIFED_BIN_DIR="$PWD/build/asan"
    ctest --test-dir build/asan --output-on-failure -j"$(nproc)" "$@"
    ;;
  help|-h|--help)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    ;;
  *)
    log "unknown command \"$cmd\" (demo, test, build, install-deps, help)"
    exit 2
    ;;
esac
