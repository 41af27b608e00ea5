#!/usr/bin/env bash
# scripts/build-native.sh - builds the project's native shims into .native/ (git-ignored).
#
#   .native/libvl_gloo.so   the C API over Debian's libgloo-dev that GlooCollectives loads (native/gloo/)
#
# Installs what is missing first (libgloo-dev, g++; apt-get as root, else sudo), then compiles only when a source is
# newer than the library, so a second run costs a few milliseconds. Source it (or read its last line) for the variable
# that names the library: VL_GLOO_LIBRARY=<repo>/.native/libvl_gloo.so.
set -euo pipefail

BN_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BN_OUT="$BN_REPO_ROOT/.native"
BN_GLOO_LIBRARY="$BN_OUT/libvl_gloo.so"
BN_APT_PACKAGES=(libgloo-dev g++)

bn_log() { printf '[build-native] %s\n' "$*" >&2; }

bn_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else bn_log "ERROR: need root (or sudo) to run: $*"; return 1
    fi
}

bn_install() {
    local missing=() p
    for p in "${BN_APT_PACKAGES[@]}"; do
        [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" == installed ]] || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    bn_log "apt-get install ${missing[*]}"
    bn_root apt-get update -q >&2
    bn_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

bn_build_gloo() {
    local sources=("$BN_REPO_ROOT"/native/gloo/*.cc "$BN_REPO_ROOT"/native/gloo/*.h "$BN_REPO_ROOT"/native/gloo/third_party/gloo/common/*.h "${BASH_SOURCE[0]}")
    local stale=0 f
    [[ -f $BN_GLOO_LIBRARY ]] || stale=1
    for f in "${sources[@]}"; do [[ $f -nt $BN_GLOO_LIBRARY ]] && stale=1; done
    if ((stale == 0)); then
        bn_log "${BN_GLOO_LIBRARY#"$BN_REPO_ROOT"/} is up to date"
        return 0
    fi
    mkdir -p "$BN_OUT"
    bn_log "g++ native/gloo/vl_gloo.cc -> ${BN_GLOO_LIBRARY#"$BN_REPO_ROOT"/}"
    # -fvisibility=hidden: only the vl_gloo_* functions are exported. -Bsymbolic and linking libgloo.so.0 by name keep
    # the shim on Debian's Gloo even though libtorch_cpu.so (loaded in the same process) defines the same gloo::
    # symbols; docs/decisions/gloo-backend.md. Build into a temporary file so a failed build leaves no library behind.
    # -idirafter: native/gloo/third_party only supplies the header Debian's package lacks (see its README).
    g++ -std=c++17 -O2 -g -fPIC -shared -fvisibility=hidden -Wall -Wextra -Werror \
        -idirafter "$BN_REPO_ROOT/native/gloo/third_party" \
        -Wl,-Bsymbolic -Wl,--no-undefined -Wl,-z,defs \
        -o "$BN_GLOO_LIBRARY.tmp" "$BN_REPO_ROOT/native/gloo/vl_gloo.cc" -lgloo -ldl -pthread
    mv -f "$BN_GLOO_LIBRARY.tmp" "$BN_GLOO_LIBRARY"
}

bn_install
bn_build_gloo
echo "VL_GLOO_LIBRARY=$BN_GLOO_LIBRARY"
