#!/usr/bin/env bash
# Cold `cargo build` of the facade with one domain feature against `full`.
#
#   benches/cold-build.sh [RUNS] [DOMAIN]     (defaults: 2 runs, the tickets domain)
#   COLD_BUILD_TLS=rustls-ring benches/cold-build.sh 3   (the TLS feature; default `rustls`)
#
# Each measurement builds in a fresh CARGO_TARGET_DIR (deleted afterwards), so "cold" means no
# compiled artifact at all; the crates' sources are already in the local registry. After each cold
# build, the SDK's own crates (la-*, liveagent) are cleaned and built again with the dependencies
# still compiled: that second figure is the part of the build the SDK's code is responsible for.
# The order of the two feature sets alternates between runs. Prints every run and the medians.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-2}
domain=${2:-tickets}
tls=${COLD_BUILD_TLS:-rustls}
scratch=${COLD_BUILD_DIR:-/tmp/liveagent-cold-build}
sdk_crates=(liveagent la-core la-types la-tickets la-calls la-contacts la-agents la-billing
    la-account la-integrations la-reports la-microservices)

build() { # target-dir features -> seconds with 2 decimals
    local start end
    start=$(date +%s%N)
    CARGO_TARGET_DIR="$1" cargo build --quiet -p liveagent --no-default-features --features "$2"
    end=$(date +%s%N)
    echo "$(((end - start) / 10000000))" | sed -E 's/([0-9]{2})$/.\1/; s/^\./0./'
}

median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "machine: $(nproc) cores (nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "cargo: $(cargo --version)"
mkdir -p "$scratch"
results=$(mktemp)
for run in $(seq 1 "$runs"); do
    if ((run % 2)); then order=("$domain" full); else order=(full "$domain"); fi
    for feature in "${order[@]}"; do
        dir="$scratch/$feature"
        rm -rf "$dir"
        cold=$(build "$dir" "$tls,$feature")
        clean_args=()
        for crate in "${sdk_crates[@]}"; do clean_args+=(-p "$crate"); done
        CARGO_TARGET_DIR="$dir" cargo clean --quiet "${clean_args[@]}" 2>/dev/null || true
        sdk=$(build "$dir" "$tls,$feature")
        rm -rf "$dir"
        echo "run $run: $tls,$feature: cold ${cold} s, SDK crates only (dependencies built) ${sdk} s"
        echo "$feature cold $cold" >>"$results"
        echo "$feature sdk $sdk" >>"$results"
    done
done
for kind in cold sdk; do
    one=$(awk -v f="$domain" -v k="$kind" '$1 == f && $2 == k { print $3 }' "$results" | median)
    all=$(awk -v k="$kind" '$1 == "full" && $2 == k { print $3 }' "$results" | median)
    ratio=$(awk -v a="$one" -v b="$all" 'BEGIN { printf "%.1f", 100 * a / b }')
    label=$([ "$kind" = cold ] && echo "cold (fresh target dir)" || echo "SDK crates only")
    echo "median of $runs, $label: $tls,$domain ${one} s, $tls,full ${all} s: ${ratio}% of full"
done
rm -f "$results"
