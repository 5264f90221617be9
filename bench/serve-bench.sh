#!/usr/bin/env bash
# Serving throughput of `tinyllm serve` (continuous batching) on the seed model: 288/8/8/4, vocab 4096, context 256,
# random weights with our initialization (seed 1337; speed does not depend on what the weights say, and sampling at
# temperature 1 from their near-uniform logits gives stories of nearly max_tokens each), and a 4096-piece tokenizer
# trained on synthetic stories. `tinyllm bench serve` sends the same 64 streaming completion requests (one prompt, a
# seed each, max_tokens 128) with 1, 4, 16 and 64 concurrent clients, in interleaved rounds, and prints one JSON line
# per run and a table: aggregate tokens/s (best round, and every round), the ratio to 1 client (the same requests
# served one at a time), time to first token p50/p95, and how many cores' worth of CPU other processes took during
# each run (the machine may be shared).
# Usage: bench/serve-bench.sh [tinyllm bench serve flags: --rounds 5, --clients 1,2,4,8,16, --max-tokens 64 ...]
#   WEIGHTS=q8_0 (or bf16) serves the weights in that format; MAX_BATCH (default 64) is the server's --max-batch.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/TinyLlm.Cli -c Release -v q -nologo >/dev/null
tinyllm=src/TinyLlm.Cli/bin/Release/net10.0/tinyllm
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
echo "# $(date -u '+%F %H:%M') UTC, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load: $(cut -d' ' -f1-3 /proc/loadavg), weights: ${WEIGHTS:-f32}, max batch: ${MAX_BATCH:-64}, flags: $*"

"$tinyllm" synth --out "$work/data" --stories 40000 >/dev/null
"$tinyllm" train-tokenizer --dataset-dir "$work/data" --vocab-size 4096 >/dev/null
"$tinyllm" bench generate --repeats 1 --tokens 1 --model-out "$work/model.bin" >/dev/null

"$tinyllm" serve --model "$work/model.bin" --tokenizer-model-path "$work/data/tok4096.model" --port 0 \
  --max-batch "${MAX_BATCH:-64}" --max-waiting 256 ${WEIGHTS:+--weights "$WEIGHTS"} 2>"$work/server.log" &
server=$!
url=""
for _ in $(seq 600); do
  url=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$work/server.log")
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "the server did not start"; cat "$work/server.log"; exit 1; }
head -n 1 "$work/server.log"
"$tinyllm" bench serve --url "$url" --server-pid "$server" "$@"
