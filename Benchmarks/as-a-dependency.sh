#!/usr/bin/env bash
# This package as another package gets it: clones this repository (its working tree as committed, plus uncommitted
# changes to tracked files), tags the clone 100.0.0, and builds a small package that depends on it by version through
# a file:// URL, running Benchmarks/DependencyProbe/main.swift. It is built twice: with a plain
# `swift build -c release` (what a user gets), and as the yardstick with
# `-Xswiftc -target-cpu -Xswiftc native -Xcc -fno-math-errno` on the command line. Then, in one run, each build's
# AdamW step over --parameters parameters (ms, median of --steps) and nanoGPT's recipe (ms per iteration over
# --iters), the plain build's speed as a fraction of the yardstick's (goals: >= 0.9 and >= 0.85), and whether the two
# printed the same numbers.
# Usage: Benchmarks/as-a-dependency.sh [--parameters 16777216] [--steps 20] [--iters 50] [--work DIR]
#        Benchmarks/as-a-dependency.sh --consumer-only --work DIR   (builds the plain consumer, prints its path)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
parameters=16777216; steps=20; iters=50; work=""; consumer_only=no
while [ $# -gt 0 ]; do
    case "$1" in
        --parameters) parameters=$2; shift 2 ;;
        --steps) steps=$2; shift 2 ;;
        --iters) iters=$2; shift 2 ;;
        --work) work=$2; shift 2 ;;
        --consumer-only) consumer_only=yes; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
if [ -z "$work" ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"

# The dependency: a clone at the working tree's state, tagged as a release.
rm -rf "$work/adamw"
snapshot=$(git stash create 2>/dev/null || true)
git clone --quiet "$root" "$work/adamw"
(
    cd "$work/adamw"
    if [ -n "$snapshot" ]; then git fetch --quiet "$root" "$snapshot" && git checkout --quiet FETCH_HEAD; fi
    git -c user.name=probe -c user.email=probe@localhost tag 100.0.0
)

# The consumer: the probe's source, depending on the clone by version.
consumer="$work/consumer"
mkdir -p "$consumer/Sources/consumer"
cp Benchmarks/DependencyProbe/main.swift "$consumer/Sources/consumer/main.swift"
cat >"$consumer/Package.swift" <<EOF
// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "consumer",
    dependencies: [.package(url: "file://$work/adamw", from: "100.0.0")],
    targets: [
        .executableTarget(
            name: "consumer",
            dependencies: [.product(name: "NN", package: "adamw"), .product(name: "Datasets", package: "adamw")]),
    ],
    swiftLanguageModes: [.v6]
)
EOF

build() {  # build directory, extra flags...
    local directory=$1; shift
    swift build -c release --package-path "$consumer" --build-path "$consumer/$directory" "$@" >&2
    echo "$consumer/$directory/release/consumer"
}
plain=$(build .build-plain)
if [ "$consumer_only" = yes ]; then echo "$plain"; exit 0; fi
yardstick=$(build .build-yardstick -Xswiftc -target-cpu -Xswiftc native -Xcc -fno-math-errno)

field() { sed -n "s/.*$2=\([^ ]*\).*/\1/p" <<<"$1" | tail -1; }
echo "== AdamW over $parameters parameters, median of $steps steps; nanoGPT's recipe, $iters iterations"
plain_adamw=$("$plain" adamw "$parameters" "$steps"); yard_adamw=$("$yardstick" adamw "$parameters" "$steps")
plain_gpt=$("$plain" gpt "$iters"); yard_gpt=$("$yardstick" gpt "$iters")
for build_name in plain yardstick; do
    if [ $build_name = plain ]; then a=$plain_adamw; g=$plain_gpt; else a=$yard_adamw; g=$yard_gpt; fi
    echo "$build_name adamw_ms_per_step=$(field "$a" ms_per_step) gpt_ms_per_iter=$(field "$g" ms_per_iter)" \
         "adamw_checksum=$(field "$a" checksum) gpt_checksum=$(field "$g" checksum)"
done
awk -v pa="$(field "$plain_adamw" ms_per_step)" -v ya="$(field "$yard_adamw" ms_per_step)" \
    -v pg="$(field "$plain_gpt" ms_per_iter)" -v yg="$(field "$yard_gpt" ms_per_iter)" \
    'BEGIN { printf "ratio plain/yardstick speed: adamw=%.2f (goal >= 0.9) gpt=%.2f (goal >= 0.85)\n", ya / pa, yg / pg }'
numbers() { grep -v ms_per <<<"$1"$'\n'"$2"; }
if [ "$(numbers "$plain_adamw" "$plain_gpt")" = "$(numbers "$yard_adamw" "$yard_gpt")" ]; then
    echo "same numbers in both builds: yes"
else
    echo "same numbers in both builds: no"
fi
