#!/usr/bin/env python3
"""Writes a deterministic synthetic TinyStories-like corpus (one story per line, as llama2.c's train_vocab
writes tiny.txt) of about SIZE_MB megabytes: python3 bench/gen_stories.py OUT.txt [SIZE_MB=50] [SEED=1]."""
import random
import sys

out, size_mb = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 50.0
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)

names = "Lily Tom Ben Mia Max Sue Anna Sam Timmy Lucy Jack Emma Leo Zoe Mom Dad Grandma Spot Bella Fluffy".split()
adjs = ("big small red blue happy sad little shiny soft old new kind brave funny scary pretty tall "
        "yellow green warm cold quiet loud tiny huge sleepy hungry").split()
nouns = ("ball tree dog cat park house car boat toy cake flower bird sun box hat kite fish garden "
         "cookie apple book friend river hill moon star bear bunny duck truck shoe cup").split()
verbs = "saw found liked wanted made lost gave took loved shared painted hugged chased climbed".split()
places = "in the park|at home|by the river|in the garden|at school|on the hill|in the forest|at the beach".split("|")
feelings = "happy|sad|scared|excited|proud|sorry|surprised|tired".split("|")
openers = ["Once upon a time, there was a {a} {n} named {N}.", "One day, {N} went {p}.",
           "{N} had a {a} {n}.", "There was a {a} {n} who lived {p}."]
middles = ["{N} {v} a {a} {n}.", "{N} said, \"I want to play with the {n}!\"", "\"Look, a {a} {n}!\" said {N}.",
           "{N} was very {f}.", "They played {p} all day.", "{N} and {M} {v} the {n} together.",
           "It was {k} o'clock and the {n} was {a}.", "{N} asked {M}, \"Can you help me?\"",
           "\"Yes,\" said {M}. \"Let's go!\""]
endings = ["From that day on, {N} and {M} were best friends.", "{N} smiled and went home.",
           "The end.", "{N} learned to be kind and share.", "And they lived happily ever after."]

# A long tail of made-up words (Zipf-like use) so the corpus has a realistic number of distinct words.
syllables = "ba be bi bo bu da de di do du ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu za ze zi zo zu sh ch th st pl gr fl".split()
rare = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(30000)})
rng.shuffle(rare)
cumulative, total = [], 0.0
for i in range(len(rare)):
    total += 1.0 / (i + 1)
    cumulative.append(total)

def noun():
    return rng.choice(nouns) if rng.random() < 0.8 else rng.choices(rare, cum_weights=cumulative)[0]

def name():
    return rng.choice(names) if rng.random() < 0.9 else rng.choices(rare, cum_weights=cumulative)[0].capitalize()

def fill(t):
    return t.format(a=rng.choice(adjs), n=noun(), N=name(), M=name(),
                    v=rng.choice(verbs), p=rng.choice(places), f=rng.choice(feelings), k=rng.randint(1, 12))

target = int(size_mb * 1_000_000)
written = 0
with open(out, "w", encoding="utf-8") as f:
    while written < target:
        story = [fill(rng.choice(openers))]
        story += [fill(rng.choice(middles)) for _ in range(rng.randint(3, 12))]
        story.append(fill(rng.choice(endings)))
        line = " ".join(story) + "\n"
        f.write(line)
        written += len(line.encode("utf-8"))
