#!/bin/sh
# Runs every fuzz target for N seconds (default 30) from its seed corpus and the corpus of
# earlier runs, failing on the first crash, leak, timeout or out-of-memory. Needs cargo-fuzz
# (`cargo install cargo-fuzz --locked`); works on a stable toolchain through RUSTC_BOOTSTRAP.
#
#   fuzz/run.sh 30                     every target, 30 s each (what CI runs)
#   fuzz/run.sh 60 csr_parse           only the named targets
#   fuzz/run.sh --long                 before a release: every target 10 minutes, the corpus
#                                      kept in ~/.cache/kubepki-fuzz (survives a fresh clone)
#   fuzz/run.sh --corpus DIR 120 ...   the corpus kept in DIR/<target> (default fuzz/corpus)
set -eu
seconds=30
corpus_root=""
while [ "$#" -gt 0 ]; do
    case "$1" in
        --long)
            seconds=600
            corpus_root="${corpus_root:-${XDG_CACHE_HOME:-$HOME/.cache}/kubepki-fuzz}"
            shift ;;
        --corpus)
            [ "$#" -ge 2 ] || { echo "--corpus needs a folder" >&2; exit 2; }
            mkdir -p "$2"
            corpus_root=$(cd "$2" && pwd)
            shift 2 ;;
        -*) echo "unknown option $1 (use N, --long, --corpus DIR, target names)" >&2; exit 2 ;;
        *[!0-9]*) break ;;
        *) seconds=$1; shift ;;
    esac
done
cd "$(dirname "$0")"
corpus_root="${corpus_root:-$PWD/corpus}"
targets="$*"
if [ -z "$targets" ]; then
    targets="$(RUSTC_BOOTSTRAP=1 cargo fuzz list)"
fi
export RUSTC_BOOTSTRAP=1
for target in $targets; do
    corpus="$corpus_root/$target"
    mkdir -p "$corpus"
    echo "=== fuzz $target for ${seconds}s (corpus $corpus)"
    # New inputs go to the corpus folder (not committed); the committed seeds are read only.
    cargo fuzz run "$target" "$corpus" "seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
        2>&1 | tee "/tmp/kubepki-fuzz-$target.log" | grep -E "^(=|#[0-9]+ *DONE|stat::number_of_executed_units|==[0-9]+==|SUMMARY)" || true
    status=$(grep -c "SUMMARY\|panicked at\|deadly signal" "/tmp/kubepki-fuzz-$target.log" || true)
    if [ "$status" != "0" ] || ! grep -q "Done [0-9]* runs" "/tmp/kubepki-fuzz-$target.log"; then
        echo "fuzz target $target FAILED: see /tmp/kubepki-fuzz-$target.log and fuzz/artifacts/$target" >&2
        tail -40 "/tmp/kubepki-fuzz-$target.log" >&2
        exit 1
    fi
done
echo "all fuzz targets ran ${seconds}s without a crash"
