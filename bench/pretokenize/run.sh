#!/usr/bin/env bash
# Pretokenize benchmark (not a test): MB/s of `tinyllm pretokenize` vs the tutorial's method (Python sentencepiece,
# one process per shard, 2 processes) on the same ~100 MB of stories, side by side in one run; checks the shards
# are byte-identical. Needs spm_train and /usr/bin/python3 with sentencepiece + numpy (Debian packages).
# Usage: bench/pretokenize/run.sh [stories (default 80000, ~1.3 KB each: ~100 MB)]
set -euo pipefail
cd "$(dirname "$0")/../.."
stories=${1:-80000}
work=${BENCH_DIR:-/tmp/tinyllm-bench-pretokenize}
mkdir -p "$work"

dotnet build src/TinyLlm.Cli -c Release -v q -nologo >/dev/null
cli=(dotnet src/TinyLlm.Cli/bin/Release/net10.0/tinyllm.dll)

if [ ! -f "$work/data/data00.json" ]; then
  "${cli[@]}" synth --out "$work/data" --stories "$stories" --stories-per-shard 10000 >/dev/null
fi
if [ ! -f "$work/tok4096.model" ]; then
  /usr/bin/python3 -c "import json,sys; [print(s['story'].strip().replace('\n',' ')) for s in json.load(open(sys.argv[1]))]" \
    "$work/data/data00.json" > "$work/corpus.txt"
  spm_train --input="$work/corpus.txt" --model_prefix="$work/tok4096" --model_type=bpe --vocab_size=4096 \
    --character_coverage=1.0 --split_digits=true --allow_whitespace_only_pieces=true --byte_fallback=true \
    --normalization_rule_name=identity --input_format=text --self_test_sample_size=0 --minloglevel=2 >/dev/null 2>&1
fi
mb=$(du -cb "$work"/data/*.json | tail -1 | awk '{printf "%.1f", $1/1e6}')
shards=$(ls "$work"/data/*.json | wc -l)
echo "$shards shards, $mb MB of JSON, $(nproc) cores"

rm -rf "$work/ours" "$work/theirs"
t0=$(date +%s.%N)
"${cli[@]}" pretokenize --vocab-size 4096 --dataset-dir "$work/data" --tokenizer-model-path "$work/tok4096.model" --output-dir "$work/ours" >/dev/null
t1=$(date +%s.%N)
/usr/bin/python3 bench/pretokenize/reference.py --dataset-dir "$work/data" --model "$work/tok4096.model" --out-dir "$work/theirs" --workers 2
t2=$(date +%s.%N)

same=0
for f in "$work"/theirs/*.bin; do cmp -s "$f" "$work/ours/$(basename "$f")" && same=$((same + 1)); done
awk -v mb="$mb" -v a="$t0" -v b="$t1" -v c="$t2" -v same="$same" -v n="$shards" 'BEGIN {
  ours = b - a; theirs = c - b;
  printf "ours   (tinyllm pretokenize, all cores):          %6.1f s  %6.1f MB/s\n", ours, mb / ours;
  printf "theirs (Python sentencepiece, 2 processes):       %6.1f s  %6.1f MB/s\n", theirs, mb / theirs;
  printf "speed-up %.2fx; %d of %d shards byte-identical\n", theirs / ours, same, n }'
