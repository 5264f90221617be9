#!/usr/bin/env bash
# Batch-1 greedy decoding, 256 positions from BOS, of the same GGUF files in TinyLlm's engine and in llama.cpp
# (through LLamaSharp 0.30.0 and its CPU backend; bench/llamacpp), side by side in one run:
#   shapes: the seed model (288/8/8/4, vocab 4096) and the stories15M shape (288/6/6/6, vocab 32000), seq 256;
#   weights: F32, Q8_0 (ggml's blocks of 32 with fp16 scales) and BF16, each a GGUF file read by both.
# The random models come from `tinyllm bench generate --gguf-out` (our initialization, seed 1337, a placeholder
# vocabulary of the model's size); Q8_0 and BF16 are `tinyllm export --format gguf --weights ...` of the F32 file.
# Both sides are .NET processes that decode REPEATS (default 10) times and report their fastest run (warm) and their
# first (cold: our JIT still compiling; llama.cpp's first graph allocation), with THREADS threads (default: all
# cores; our engine via DOTNET_PROCESSOR_COUNT). ROUNDS (default 3) interleaved rounds filter out other load on a
# shared machine: the summary gives the best round, the spread over rounds, and the load average around each round.
# Usage: [ROUNDS=3] [REPEATS=10] [THREADS=2] bench/gguf-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/TinyLlm.Cli -c Release -v q -nologo >/dev/null
dotnet build bench/llamacpp -c Release -v q -nologo >/dev/null
tinyllm=src/TinyLlm.Cli/bin/Release/net10.0/tinyllm
llamacpp=bench/llamacpp/bin/Release/net10.0/llamacpp-bench.dll
threads=${THREADS:-$(nproc)}
repeats=${REPEATS:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# $(date -u '+%F %H:%M') UTC, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load: $(cut -d' ' -f1-3 /proc/loadavg), threads $threads, repeats $repeats"

declare -A shapes=(
  [seed]=""
  [stories15M]="--dim 288 --n-layers 6 --n-heads 6 --n-kv-heads 6 --vocab-size 32000"
)
for shape in seed stories15M; do
  # shellcheck disable=SC2086
  "$tinyllm" bench generate --tokens 1 --repeats 1 ${shapes[$shape]} --gguf-out "$work/$shape-f32.gguf" >/dev/null
  for type in q8_0 bf16; do
    "$tinyllm" export --checkpoint "$work/$shape-f32.gguf" --format gguf --weights "$type" --out "$work/$shape-$type.gguf" >/dev/null
  done
done

for round in $(seq "${ROUNDS:-3}"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  for shape in seed stories15M; do
    for type in f32 q8_0 bf16; do
      file="$work/$shape-$type.gguf"
      echo "{\"round\": $round, \"load\": $load, \"shape\": \"$shape\", \"type\": \"$type\", \"result\": $(DOTNET_PROCESSOR_COUNT=$threads "$tinyllm" bench generate --mode cached --repeats "$repeats" --tokens 256 --checkpoint "$file")}"
      echo "{\"round\": $round, \"load\": $load, \"shape\": \"$shape\", \"type\": \"$type\", \"result\": $(dotnet "$llamacpp" --model "$file" --tokens 256 --threads "$threads" --repeats "$repeats")}"
    done
  done
done | tee "$work/rounds.jsonl"

# One markdown row per (shape, type, implementation): the best round's tokens/s (warm), the spread over rounds, the
# best first run (cold), the largest peak RSS; then the ratio engine / llama.cpp of the warm and cold figures.
python3 - "$work/rounds.jsonl" <<'EOF'
import json, sys
from collections import defaultdict
runs = defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    impl = 'TinyLlm engine' if r['result']['impl'].startswith('tinyllm') else 'llama.cpp (LLamaSharp)'
    runs[(r['shape'], r['type'], impl)].append(r)
print('| shape | weights | implementation | tokens/s warm (best round) | rounds | cold (first run) | peak RSS MB |')
print('|---|---|---|---|---|---|---|')
for key, rs in runs.items():
    best = max(rs, key=lambda r: r['result']['tokens_per_s'])['result']
    spread = ' / '.join(f"{r['result']['tokens_per_s']:,.0f}" for r in rs)
    cold = max(r['result']['first_run_tokens_per_s'] for r in rs)
    rss = max(r['result']['peak_rss_mb'] for r in rs)
    print(f"| {key[0]} | {key[1]} | {key[2]} | {best['tokens_per_s']:,.0f} | {spread} | {cold:,.0f} | {rss:.0f} |")
print()
for (shape, type_, impl), rs in runs.items():
    if impl != 'TinyLlm engine': continue
    ours = max(r['result']['tokens_per_s'] for r in rs)
    theirs = max(r['result']['tokens_per_s'] for r in runs[(shape, type_, 'llama.cpp (LLamaSharp)')])
    ours_cold = max(r['result']['first_run_tokens_per_s'] for r in rs)
    theirs_cold = max(r['result']['first_run_tokens_per_s'] for r in runs[(shape, type_, 'llama.cpp (LLamaSharp)')])
    print(f"{shape} {type_}: engine / llama.cpp = {ours / theirs:.2f}x warm, {ours_cold / theirs_cold:.2f}x cold")
print('load average at the start of each round:', sorted({r['load'] for rs in runs.values() for r in rs}))
EOF
