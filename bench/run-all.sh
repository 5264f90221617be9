#!/usr/bin/env bash
# Re-runs every benchmark of docs/benchmarks.md, one after the other, and keeps their output in one log.
# Needs Debian's sentencepiece, python3-sentencepiece, python3-numpy and python3-torch (as .ci/run installs them);
# set RUNC (and RUNQ) to llama2.c run.c (runq.c) binaries you built to include them in the generation benchmarks.
#   bench/run-all.sh [log file, default bench-results-<date>.log]
set -euo pipefail
cd "$(dirname "$0")/.."
log=${1:-bench-results-$(date -u +%Y%m%dT%H%MZ).log}
{
  echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "## tokenizer training"; bash bench/tokenizer_vs_spm.sh
  echo "## pretokenize";        bash bench/pretokenize/run.sh
  echo "## training";           bash bench/train-bench.sh
  echo "## generation";         bash bench/generate-bench.sh
  echo "## generation by weight format, seed model"; ROUNDS=5 bash bench/generate-formats-bench.sh
  echo "## generation by weight format, stories15M shape"; ROUNDS=5 bash bench/generate-formats-bench.sh --dim 288 --n-layers 6 --n-heads 6 --n-kv-heads 6 --vocab-size 32000
  echo "## serving, 1/4/16/64 concurrent clients"; bash bench/serve-bench.sh --rounds 3
} 2>&1 | tee "$log"
echo "results in $log"
