#!/bin/sh
# Runs every fuzz target for N seconds (first argument, default 30) from its seed corpus,
# failing on the first crash, leak, timeout or out-of-memory. Needs cargo-fuzz
# (`cargo install cargo-fuzz --locked`); works on a stable toolchain through RUSTC_BOOTSTRAP.
#
#   fuzz/run.sh 30            every target, 30 s each
#   fuzz/run.sh 60 csr_parse  only the named targets
set -eu
seconds="${1:-30}"
[ "$#" -gt 0 ] && shift
cd "$(dirname "$0")"
targets="$*"
if [ -z "$targets" ]; then
    targets="$(RUSTC_BOOTSTRAP=1 cargo fuzz list)"
fi
export RUSTC_BOOTSTRAP=1
for target in $targets; do
    corpus="corpus/$target"
    mkdir -p "$corpus"
    echo "=== fuzz $target for ${seconds}s"
    # New inputs go to corpus/ (not committed); the committed seeds are read only.
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
