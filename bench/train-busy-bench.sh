#!/usr/bin/env bash
# Training on a CPU that other programs share: tokens/s of TinyLlm (fp32) and of the PyTorch 1.13 reference with 0, 1
# or 2 other programs busy, side by side in the same minutes. A busy program is a `yes > /dev/null` loop pinned with
# taskset to a core of its own, starting from the last core (so "1 busy" leaves core 0 free). Rounds are
# interleaved; every measurement is its own process.
#   bench/train-busy-bench.sh [rounds] [steps] > busy.jsonl; bench/summarize_busy_bench.py busy.jsonl
# CONFIGS (default "seed small"), BUSY (default "0 1 2") and VARIANTS choose the grid. Variants:
#   all           tinyllm as it runs: all cores, OpenMP workers waiting passively (TinyLlm's default)
#   all-active    tinyllm, all cores, OMP_WAIT_POLICY=active: OpenMP workers spin at barriers (OpenMP's default, the
#                 behaviour before TinyLlm chose passive waiting)
#   half          tinyllm, half the cores, passive
#   pytorch       the PyTorch reference, all cores
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}; steps=${2:-12}
dotnet build src/TinyLlm.Cli -c Release -v q -nologo >/dev/null
tinyllm=src/TinyLlm.Cli/bin/Release/net10.0/tinyllm
py=/usr/bin/python3
cores=$(nproc); half=$(((cores + 1) / 2))
seed="--dim 288 --n-layers 8 --n-heads 8 --n-kv-heads 4 --vocab-size 4096 --seq-len 256 --batch-size 8"
small="--dim 64 --n-layers 5 --n-heads 8 --n-kv-heads 4 --vocab-size 512 --seq-len 512 --batch-size 8"
busy_pids=()
stop_busy() { for p in "${busy_pids[@]}"; do kill "$p" 2>/dev/null || true; done; busy_pids=(); }
trap stop_busy EXIT
start_busy() {
  for ((i = 0; i < $1; i++)); do
    taskset -c $((cores - 1 - i)) yes > /dev/null &
    busy_pids+=($!)
  done
}
measure() { # variant config-args
  case $1 in
    all) $tinyllm bench train $2 --steps "$steps" --warmup 2 --threads "$cores" --dtype float32 ;;
    all-active) OMP_WAIT_POLICY=active $tinyllm bench train $2 --steps "$steps" --warmup 2 --threads "$cores" --dtype float32 ;;
    half) $tinyllm bench train $2 --steps "$steps" --warmup 2 --threads "$half" --dtype float32 ;;
    pytorch) $py bench/reference/llama_reference.py bench $2 --steps "$steps" --warmup 2 --threads "$cores" ;;
  esac
}
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $cores cores, steps=$steps, rounds=$rounds, load: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
  for name in ${CONFIGS:-seed small}; do
    for busy in ${BUSY:-0 1 2}; do
      start_busy "$busy"
      for variant in ${VARIANTS:-all all-active pytorch}; do
        load="\"load\":\"$(cut -d' ' -f1 /proc/loadavg)\""
        echo "{\"config\":\"$name\",\"busy\":$busy,\"round\":$round,$load,\"variant\":\"$variant\",\"result\":$(measure "$variant" "${!name}")}"
      done
      stop_busy
    done
  done
done
echo "# done $(date -u +%H:%MZ), load: $(cut -d' ' -f1-3 /proc/loadavg)"
