#!/usr/bin/env bash
# Batch-1 greedy decoding of a random seed-config model (288/8/8/4, vocab 4096, 256 positions) on this machine,
# side by side in one run: TinyLlm's .NET engine with its KV cache, the tutorial's cacheless loop on our TorchSharp
# model, and the PyTorch reference's cacheless loop (llama2.c model.py's generate), same weights. One JSON line each.
# Usage: bench/generate-bench.sh [extra tinyllm bench generate flags, e.g. --dim 288 --n-layers 6 --n-heads 6 --n-kv-heads 6 --vocab-size 32000]
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/TinyLlm.Cli -c Release -v q -nologo >/dev/null
tinyllm=src/TinyLlm.Cli/bin/Release/net10.0/tinyllm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# $(date -u +%F) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
"$tinyllm" bench generate --mode cached --model-out "$work/model.bin" "$@"
"$tinyllm" bench generate --mode uncached --repeats 1 "$@"
/usr/bin/python3 bench/reference/generate_reference.py --model "$work/model.bin" --repeats 1 --threads "$(nproc)"
