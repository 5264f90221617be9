#!/usr/bin/env bash
# Tokenizer training benchmark: tinyllm train-tokenizer vs Google's spm_train (--num_threads=2), same corpus and
# llama2.c options, one after the other in one run; wall time and peak RSS of each whole process (/usr/bin/time),
# whether the vocabularies are identical, and bytes per token (both encoded by spm_encode).
# Usage: bench/tokenizer_vs_spm.sh [CORPUS.txt] [VOCAB=4096]   (default corpus: 50 MB from bench/gen_stories.py)
set -euo pipefail
cd "$(dirname "$0")/.."
vocab=${2:-4096}
work=${TMPDIR:-/tmp}/tinyllm-tokbench
mkdir -p "$work"
corpus=${1:-$work/stories50mb.txt}
[ -f "$corpus" ] || python3 bench/gen_stories.py "$corpus" 50
dotnet build src/TinyLlm.Cli -c Release -v q --nologo >/dev/null
cli=src/TinyLlm.Cli/bin/Release/net10.0/tinyllm

echo "corpus: $corpus ($(du -m "$corpus" | cut -f1) MB), vocab $vocab, $(nproc) cores, $(date -u +%F)"
/usr/bin/time -f "spm_train --num_threads=2: %e s wall, %M KB peak RSS" \
  spm_train --input="$corpus" --model_prefix="$work/spm" --model_type=bpe --vocab_size="$vocab" \
  --self_test_sample_size=0 --input_format=text --character_coverage=1.0 --num_threads=2 --split_digits=true \
  --allow_whitespace_only_pieces=true --byte_fallback=true --unk_surface=" \342\201\207 " \
  --normalization_rule_name=identity 2>&1 | tail -n 1
/usr/bin/time -f "tinyllm train-tokenizer: %e s wall, %M KB peak RSS" \
  "$cli" train-tokenizer --input "$corpus" --vocab-size "$vocab" --out "$work/ours.model" 2>&1 | tail -n 1

shared=$(comm -12 <(cut -f1 "$work/spm.vocab" | sort) <(cut -f1 "$work/ours.vocab" | sort) | wc -l)
echo "shared pieces: $shared of $vocab; identical .vocab (order and scores): $(cmp -s "$work/spm.vocab" "$work/ours.vocab" && echo yes || echo no)"
head -c 20000000 "$corpus" > "$work/sample.txt"
bytes=$(wc -c < "$work/sample.txt")
for m in spm ours; do
  tokens=$(spm_encode --model="$work/$m.model" --output_format=id < "$work/sample.txt" | wc -w)
  echo "$m bytes/token: $(awk -v b="$bytes" -v t="$tokens" 'BEGIN { printf "%.4f", b / t }')"
done
