#!/usr/bin/python3
"""PyTorch reference for TinyLlm.MLNet's model and training step (written for Debian's python3-torch 1.13).

The architecture is the one in llama2.c's model.py: RMSNorm (eps 1e-5, fp32), RoPE theta 10000 on interleaved
channel pairs, grouped-query attention, SwiGLU, no biases, pre-norm blocks, tied embedding/output weights.
Weights come from a llama2.c v0 checkpoint (7 int32 header + fp32 tensors), the layout `run.c` reads.

  check: logits of batch 0 and the losses of N AdamW steps on given batches (for the equivalence test)
  bench: training tokens/s and peak memory of a random model of a given size (for docs/benchmarks.md)
  export-v0: a random model written as a llama2.c v0 file, with its logits on random tokens (for the interop test)
  hf-logits: logits of a Hugging Face Llama folder (config.json + F32 model.safetensors) computed the way
             transformers' modeling_llama does (RoPE on the two halves of each head: rotate_half), for the test
             that our export permutes wq/wk correctly
"""
import argparse
import json
import math
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class Config:
    def __init__(self, dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len):
        self.dim, self.hidden_dim, self.n_layers = dim, hidden_dim, n_layers
        self.n_heads, self.n_kv_heads, self.vocab_size, self.seq_len = n_heads, n_kv_heads, vocab_size, seq_len
        self.head_dim = dim // n_heads


def hidden_size(dim, multiple_of):
    hidden = int(2 * (4 * dim) / 3)
    return multiple_of * ((hidden + multiple_of - 1) // multiple_of)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


def rope_tables(head_dim, seq_len, theta=10000.0):
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2).float()[: head_dim // 2] / head_dim))
    angles = torch.outer(torch.arange(seq_len).float(), inv)
    return torch.cos(angles), torch.sin(angles)


def rotate(x, cos, sin):
    # x: (b, t, h, hd); rotate channel pairs (2i, 2i+1)
    b, t, h, hd = x.shape
    pairs = x.float().reshape(b, t, h, hd // 2, 2)
    re, im = pairs[..., 0], pairs[..., 1]
    c, s = cos[:t].view(1, t, 1, hd // 2), sin[:t].view(1, t, 1, hd // 2)
    return torch.stack([re * c - im * s, re * s + im * c], dim=-1).flatten(3).type_as(x)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        hd = cfg.head_dim
        self.wq = nn.Linear(cfg.dim, cfg.n_heads * hd, bias=False)
        self.wk = nn.Linear(cfg.dim, cfg.n_kv_heads * hd, bias=False)
        self.wv = nn.Linear(cfg.dim, cfg.n_kv_heads * hd, bias=False)
        self.wo = nn.Linear(cfg.n_heads * hd, cfg.dim, bias=False)

    def forward(self, x, cos, sin):
        cfg = self.cfg
        b, t, _ = x.shape
        q = rotate(self.wq(x).view(b, t, cfg.n_heads, cfg.head_dim), cos, sin)
        k = rotate(self.wk(x).view(b, t, cfg.n_kv_heads, cfg.head_dim), cos, sin)
        v = self.wv(x).view(b, t, cfg.n_kv_heads, cfg.head_dim)
        rep = cfg.n_heads // cfg.n_kv_heads
        k = torch.repeat_interleave(k, rep, dim=2)
        v = torch.repeat_interleave(v, rep, dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        scores = q @ k.transpose(2, 3) / math.sqrt(cfg.head_dim)
        mask = torch.full((t, t), float("-inf")).triu(1)
        att = F.softmax((scores + mask).float(), dim=-1).type_as(q)
        out = (att @ v).transpose(1, 2).contiguous().view(b, t, -1)
        return self.wo(out)


class FeedForward(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.w1 = nn.Linear(cfg.dim, cfg.hidden_dim, bias=False)
        self.w2 = nn.Linear(cfg.hidden_dim, cfg.dim, bias=False)
        self.w3 = nn.Linear(cfg.dim, cfg.hidden_dim, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attention = Attention(cfg)
        self.feed_forward = FeedForward(cfg)
        self.attention_norm = RMSNorm(cfg.dim)
        self.ffn_norm = RMSNorm(cfg.dim)

    def forward(self, x, cos, sin):
        h = x + self.attention(self.attention_norm(x), cos, sin)
        return h + self.feed_forward(self.ffn_norm(h))


class Model(nn.Module):
    def __init__(self, cfg, tied=True):
        super().__init__()
        self.cfg = cfg
        self.tok_embeddings = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layers)])
        self.norm = RMSNorm(cfg.dim)
        self.output = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        self.tied = tied
        if tied:
            self.tok_embeddings.weight = self.output.weight
        cos, sin = rope_tables(cfg.head_dim, cfg.seq_len)
        self.register_buffer("freqs_cos", cos, persistent=False)
        self.register_buffer("freqs_sin", sin, persistent=False)

    def forward(self, tokens):
        h = self.tok_embeddings(tokens)
        for layer in self.layers:
            h = layer(h, self.freqs_cos, self.freqs_sin)
        return self.output(self.norm(h))


def read_v0(path):
    """A llama2.c v0 file: header, then embedding, per-kind stacks of layer tensors, final norm (RoPE tables skipped)."""
    with open(path, "rb") as f:
        dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len = struct.unpack("7i", f.read(28))
        data = np.frombuffer(f.read(), dtype=np.float32)
    shared = vocab > 0
    cfg = Config(dim, hidden, n_layers, n_heads, n_kv_heads, abs(vocab), seq_len)
    model = Model(cfg, tied=shared)
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        t = torch.from_numpy(data[pos:pos + n].copy()).view(*shape)
        pos += n
        return t

    kv = n_kv_heads * cfg.head_dim
    with torch.no_grad():
        model.tok_embeddings.weight.copy_(take(cfg.vocab_size, dim))
        stacks = [("attention_norm", lambda l: l.attention_norm.weight, (dim,)),
                  ("wq", lambda l: l.attention.wq.weight, (dim, dim)),
                  ("wk", lambda l: l.attention.wk.weight, (kv, dim)),
                  ("wv", lambda l: l.attention.wv.weight, (kv, dim)),
                  ("wo", lambda l: l.attention.wo.weight, (dim, dim)),
                  ("ffn_norm", lambda l: l.ffn_norm.weight, (dim,)),
                  ("w1", lambda l: l.feed_forward.w1.weight, (hidden, dim)),
                  ("w2", lambda l: l.feed_forward.w2.weight, (dim, hidden)),
                  ("w3", lambda l: l.feed_forward.w3.weight, (hidden, dim))]
        for _, get, shape in stacks:
            for layer in model.layers:
                get(layer).copy_(take(*shape))
        model.norm.weight.copy_(take(dim))
        take(seq_len, cfg.head_dim // 2)  # freqs_cos: recomputed
        take(seq_len, cfg.head_dim // 2)  # freqs_sin
        if not shared:
            model.output.weight.copy_(take(cfg.vocab_size, dim))
    return model


LAYER_TENSORS = [lambda l: l.attention_norm.weight, lambda l: l.attention.wq.weight, lambda l: l.attention.wk.weight,
                 lambda l: l.attention.wv.weight, lambda l: l.attention.wo.weight, lambda l: l.ffn_norm.weight,
                 lambda l: l.feed_forward.w1.weight, lambda l: l.feed_forward.w2.weight, lambda l: l.feed_forward.w3.weight]


def write_v0(model, path):
    """llama2.c's legacy_export layout: 7 int32 (vocab negative if unshared), embedding, per-kind layer stacks,
    final norm, RoPE cos and sin tables, then the classifier if unshared."""
    cfg = model.cfg

    def put(f, t):
        f.write(t.detach().float().contiguous().numpy().astype("<f4").tobytes())

    with open(path, "wb") as f:
        f.write(struct.pack("7i", cfg.dim, cfg.hidden_dim, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads,
                            cfg.vocab_size if model.tied else -cfg.vocab_size, cfg.seq_len))
        put(f, model.tok_embeddings.weight)
        for get in LAYER_TENSORS:
            for layer in model.layers:
                put(f, get(layer))
        put(f, model.norm.weight)
        put(f, model.freqs_cos)
        put(f, model.freqs_sin)
        if not model.tied:
            put(f, model.output.weight)


def export_v0(a):
    torch.manual_seed(a.seed)
    cfg = Config(a.dim, hidden_size(a.dim, a.multiple_of), a.n_layers, a.n_heads, a.n_kv_heads, a.vocab_size, a.seq_len)
    model = Model(cfg, tied=not a.unshared)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, 0.0, a.std)
            else:
                p.uniform_(0.5, 1.5)  # norms other than 1, so a swapped norm shows in the logits
    write_v0(model, a.out)
    tokens = torch.randint(0, cfg.vocab_size, (1, cfg.seq_len), generator=torch.Generator().manual_seed(a.seed))
    with torch.no_grad():
        logits = model(tokens)
    tokens.numpy().astype(np.int32).tofile(a.tokens_out)
    logits.numpy().astype(np.float32).tofile(a.logits_out)
    json.dump({"params": sum(p.numel() for p in model.parameters())}, sys.stdout)


def make_optimizer(model, lr, weight_decay, beta1, beta2):
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(beta1, beta2), eps=1e-8)


def lr_at(it, a):
    if it < a.warmup_iters:
        return a.learning_rate * it / a.warmup_iters
    if it > a.lr_decay_iters:
        return a.min_lr
    ratio = (it - a.warmup_iters) / (a.lr_decay_iters - a.warmup_iters)
    return a.min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (a.learning_rate - a.min_lr)


def train_step(model, optimizer, micro_batches, grad_clip):
    total = 0.0
    for x, y in micro_batches:
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.reshape(-1), ignore_index=-1) / len(micro_batches)
        loss.backward()
        total += loss.item()
    if grad_clip != 0.0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total


def check(a):
    torch.set_num_threads(a.threads)
    model = read_v0(a.weights)
    cfg = model.cfg
    tokens = torch.from_numpy(np.fromfile(a.batches, dtype=np.int32).astype(np.int64))
    tokens = tokens.view(a.steps, a.accum, 2, a.batch_size, -1)
    with torch.no_grad():
        logits = model(tokens[0, 0, 0])
    logits.numpy().astype(np.float32).tofile(a.logits_out)
    optimizer = make_optimizer(model, a.learning_rate, a.weight_decay, a.beta1, a.beta2)
    losses = []
    for it in range(a.steps):
        lr = lr_at(it, a)
        for group in optimizer.param_groups:
            group["lr"] = lr
        losses.append(train_step(model, optimizer, [(tokens[it, m, 0], tokens[it, m, 1]) for m in range(a.accum)], a.grad_clip))
    json.dump({"losses": losses, "vocab_size": cfg.vocab_size}, sys.stdout)


def bench(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    cfg = Config(a.dim, hidden_size(a.dim, a.multiple_of), a.n_layers, a.n_heads, a.n_kv_heads, a.vocab_size, a.seq_len)
    model = Model(cfg)
    for p in model.parameters():
        if p.dim() >= 2:
            nn.init.normal_(p, 0.0, 0.02)
    optimizer = make_optimizer(model, 5e-4, 0.1, 0.9, 0.95)
    g = torch.Generator().manual_seed(a.seed)
    times, cpu = [], []
    for step in range(a.warmup + a.steps):
        x = torch.randint(0, cfg.vocab_size, (a.batch_size, cfg.seq_len), generator=g)
        y = torch.randint(0, cfg.vocab_size, (a.batch_size, cfg.seq_len), generator=g)
        t0, c0 = time.perf_counter(), time.process_time()
        loss = train_step(model, optimizer, [(x, y)], 1.0)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    measured = times[a.warmup:]
    tokens = a.batch_size * cfg.seq_len
    json.dump({"impl": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
               "params": sum(p.numel() for p in model.parameters()),
               "tokens_per_s": tokens * len(measured) / sum(measured),
               "step_ms_median": 1000 * sorted(measured)[len(measured) // 2],
               "tokens_per_cpu_s": tokens * len(measured) / sum(cpu[a.warmup:]),
               "final_loss": loss,
               "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, sys.stdout)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{name}: only F32 is read here"
        begin, end = info["data_offsets"]
        tensors[name] = torch.from_numpy(np.frombuffer(data[begin:end], dtype="<f4").copy()).view(*info["shape"])
    return tensors


def hf_logits(a):
    """A plain re-statement of transformers' LlamaForCausalLM forward (no cache, causal mask)."""
    with open(a.folder + "/config.json") as f:
        c = json.load(f)
    w = read_safetensors(a.folder + "/model.safetensors")
    dim, n_heads = c["hidden_size"], c["num_attention_heads"]
    n_kv = c.get("num_key_value_heads", n_heads)
    hd, eps, theta = dim // n_heads, c["rms_norm_eps"], c.get("rope_theta", 10000.0)
    tokens = torch.from_numpy(np.fromfile(a.tokens, dtype=np.int32).astype(np.int64))
    t = tokens.shape[0]

    def norm(x, weight):
        return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2).float() / hd))
    freqs = torch.outer(torch.arange(t).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, None, :], emb.sin()[:, None, :]  # (t, 1, hd)

    def rotate_half(x):
        return torch.cat((-x[..., hd // 2:], x[..., : hd // 2]), dim=-1)

    h = w["model.embed_tokens.weight"][tokens]
    mask = torch.full((t, t), float("-inf")).triu(1)
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        x = norm(h, w[p + "input_layernorm.weight"])
        q = (x @ w[p + "self_attn.q_proj.weight"].T).view(t, n_heads, hd)
        k = (x @ w[p + "self_attn.k_proj.weight"].T).view(t, n_kv, hd)
        v = (x @ w[p + "self_attn.v_proj.weight"].T).view(t, n_kv, hd)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k = k[:, :, None, :].expand(t, n_kv, n_heads // n_kv, hd).reshape(t, n_heads, hd)  # repeat_kv
        v = v[:, :, None, :].expand(t, n_kv, n_heads // n_kv, hd).reshape(t, n_heads, hd)
        att = F.softmax((q.transpose(0, 1) @ k.transpose(0, 1).transpose(1, 2)) / math.sqrt(hd) + mask, dim=-1)
        out = (att @ v.transpose(0, 1)).transpose(0, 1).reshape(t, dim)
        h = h + out @ w[p + "self_attn.o_proj.weight"].T
        x = norm(h, w[p + "post_attention_layernorm.weight"])
        gate, up = x @ w[p + "mlp.gate_proj.weight"].T, x @ w[p + "mlp.up_proj.weight"].T
        h = h + (F.silu(gate) * up) @ w[p + "mlp.down_proj.weight"].T
    head = w["model.embed_tokens.weight"] if c.get("tie_word_embeddings", False) else w["lm_head.weight"]
    logits = norm(h, w["model.norm.weight"]) @ head.T
    logits.numpy().astype(np.float32).tofile(a.logits_out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("check")
    c.add_argument("--weights", required=True)
    c.add_argument("--batches", required=True, help="int32 (steps, accum, 2, batch, seq): inputs then targets")
    c.add_argument("--logits-out", required=True)
    for name, kind, default in [("steps", int, 20), ("accum", int, 1), ("batch-size", int, 4), ("learning-rate", float, 5e-4),
                                ("warmup-iters", int, 0), ("lr-decay-iters", int, 20), ("min-lr", float, 0.0),
                                ("weight-decay", float, 0.1), ("beta1", float, 0.9), ("beta2", float, 0.95),
                                ("grad-clip", float, 1.0), ("threads", int, 1)]:
        c.add_argument("--" + name, type=kind, default=default)
    b = sub.add_parser("bench")
    for name, kind, default in [("dim", int, 288), ("n-layers", int, 8), ("n-heads", int, 8), ("n-kv-heads", int, 4),
                                ("vocab-size", int, 4096), ("seq-len", int, 256), ("multiple-of", int, 32),
                                ("batch-size", int, 8), ("steps", int, 10), ("warmup", int, 2), ("threads", int, 2),
                                ("seed", int, 1337)]:
        b.add_argument("--" + name, type=kind, default=default)
    e = sub.add_parser("export-v0")
    e.add_argument("--out", required=True)
    e.add_argument("--tokens-out", required=True)
    e.add_argument("--logits-out", required=True)
    e.add_argument("--unshared", action="store_true", help="an output projection of its own (negative vocab_size)")
    for name, kind, default in [("dim", int, 64), ("n-layers", int, 2), ("n-heads", int, 4), ("n-kv-heads", int, 2),
                                ("vocab-size", int, 128), ("seq-len", int, 16), ("multiple-of", int, 16),
                                ("std", float, 0.1), ("seed", int, 1337)]:
        e.add_argument("--" + name, type=kind, default=default)
    hf = sub.add_parser("hf-logits")
    hf.add_argument("--folder", required=True)
    hf.add_argument("--tokens", required=True, help="int32 token ids")
    hf.add_argument("--logits-out", required=True)
    a = p.parse_args()
    {"check": check, "bench": bench, "export-v0": export_v0, "hf-logits": hf_logits}[a.mode](a)


if __name__ == "__main__":
    main()
