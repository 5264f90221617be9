#!/usr/bin/env bash
# Training throughput: TinyLlm (TorchSharp, fp32 and bf16) vs the PyTorch reference (fp32), same threads, same
# configurations, one process per measurement (so peak RSS is that run's). Rounds are interleaved and the best
# round of each variant is kept, which filters out other load on a shared machine.
#   bench/train-bench.sh [rounds] [steps] [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}; steps=${2:-8}; threads=${3:-2}
dotnet build src/TinyLlm.Cli -c Release -v q -nologo >/dev/null
tinyllm=src/TinyLlm.Cli/bin/Release/net10.0/tinyllm
py=/usr/bin/python3
seed="--dim 288 --n-layers 8 --n-heads 8 --n-kv-heads 4 --vocab-size 4096 --seq-len 256 --batch-size 8"
small="--dim 64 --n-layers 5 --n-heads 8 --n-kv-heads 4 --vocab-size 512 --seq-len 512 --batch-size 8"
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, threads=$threads, steps=$steps, rounds=$rounds"
for round in $(seq "$rounds"); do
  for name in seed small; do
    cfg=${!name}
    echo "{\"config\":\"$name\",\"round\":$round,\"result\":$($tinyllm bench train $cfg --steps "$steps" --warmup 2 --threads "$threads" --dtype float32)}"
    echo "{\"config\":\"$name\",\"round\":$round,\"result\":$($tinyllm bench train $cfg --steps "$steps" --warmup 2 --threads "$threads" --dtype bfloat16)}"
    echo "{\"config\":\"$name\",\"round\":$round,\"result\":$($py bench/reference/llama_reference.py bench $cfg --steps "$steps" --warmup 2 --threads "$threads")}"
  done
done
