"""The LLaMA-2 decoder of llama2.c's model.py, the architecture TinyLlm trains: token embedding, n_layers pre-norm
blocks (RMSNorm, RoPE attention with grouped-query heads, SwiGLU), a final RMSNorm and an output projection tied to
the embedding. Parameter names are model.py's, so the state dictionary lines up with llama2.c's exporters.

Runs on PyTorch 1.13 (explicit attention) and 2.x (scaled_dot_product_attention where present).
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn.functional as F
from torch import nn

HAS_SDPA = hasattr(F, "scaled_dot_product_attention")


@dataclass
class ModelArgs:
    dim: int = 288
    n_layers: int = 8
    n_heads: int = 8
    n_kv_heads: int = 4
    vocab_size: int = 4096
    hidden_dim: int = 0  # 0: derived from dim and multiple_of, as model.py does
    multiple_of: int = 32
    norm_eps: float = 1e-5
    max_seq_len: int = 256
    dropout: float = 0.0
    tied: bool = True  # output projection shares the embedding (False only for some imported models)

    def __post_init__(self):
        if self.hidden_dim == 0:
            self.hidden_dim = feed_forward_dim(self.dim, self.multiple_of)

    @property
    def head_dim(self):
        return self.dim // self.n_heads

    def check(self):
        """Raises ValueError naming the first inconsistent field."""
        for name in ("dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "hidden_dim", "max_seq_len"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1; got {getattr(self, name)}")
        if self.dim % self.n_heads:
            raise ValueError(f"n_heads {self.n_heads} must divide dim {self.dim}")
        if self.n_heads % self.n_kv_heads:
            raise ValueError(f"n_kv_heads {self.n_kv_heads} must divide n_heads {self.n_heads}")
        if self.head_dim % 2:
            raise ValueError(f"the head size dim / n_heads = {self.head_dim} must be even for RoPE")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {self.dropout}")

    def to_dict(self):
        return asdict(self)


def feed_forward_dim(dim, multiple_of):
    """SwiGLU hidden size: 2/3 of 4*dim, rounded up to a multiple of multiple_of (768 for dim 288)."""
    hidden = int(2 * (4 * dim) / 3)
    return multiple_of * ((hidden + multiple_of - 1) // multiple_of)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        # in fp32 even under bf16 autocast: the mean of squares loses too much in bf16
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


def precompute_rope(head_dim, seq_len, theta=10000.0):
    """cos and sin of position * theta^(-2i/head_dim), (seq_len, head_dim/2) each."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2)[: head_dim // 2].float() / head_dim))
    angles = torch.outer(torch.arange(seq_len).float(), inv_freq)
    return torch.cos(angles), torch.sin(angles)


def apply_rope(x, cos, sin):
    """Rotates the interleaved channel pairs (2i, 2i+1) of each head of x (batch, seq, heads, head_dim)."""
    b, t, h, hd = x.shape
    pairs = x.float().reshape(b, t, h, hd // 2, 2)
    re, im = pairs[..., 0], pairs[..., 1]
    cos, sin = cos[:t].view(1, t, 1, hd // 2), sin[:t].view(1, t, 1, hd // 2)
    return torch.stack((re * cos - im * sin, re * sin + im * cos), dim=-1).flatten(3).type_as(x)


class Attention(nn.Module):
    def __init__(self, args):
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = args.n_heads, args.n_kv_heads, args.head_dim
        self.wq = nn.Linear(args.dim, args.n_heads * args.head_dim, bias=False)
        self.wk = nn.Linear(args.dim, args.n_kv_heads * args.head_dim, bias=False)
        self.wv = nn.Linear(args.dim, args.n_kv_heads * args.head_dim, bias=False)
        self.wo = nn.Linear(args.n_heads * args.head_dim, args.dim, bias=False)
        self.dropout = args.dropout
        self.attn_dropout = nn.Dropout(args.dropout)
        self.resid_dropout = nn.Dropout(args.dropout)
        self.use_sdpa = HAS_SDPA

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        q = apply_rope(self.wq(x).view(b, t, self.n_heads, self.head_dim), cos, sin)
        k = apply_rope(self.wk(x).view(b, t, self.n_kv_heads, self.head_dim), cos, sin)
        v = self.wv(x).view(b, t, self.n_kv_heads, self.head_dim)
        # grouped-query attention: each key/value head serves n_heads / n_kv_heads query heads
        repeats = self.n_heads // self.n_kv_heads
        k = torch.repeat_interleave(k, repeats, dim=2)
        v = torch.repeat_interleave(v, repeats, dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (b, heads, t, head_dim)
        if self.use_sdpa:
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        else:
            scores = q @ k.transpose(2, 3) / math.sqrt(self.head_dim)
            scores = scores + torch.full((t, t), float("-inf"), device=x.device).triu(1)
            out = self.attn_dropout(F.softmax(scores.float(), dim=-1).type_as(q)) @ v
        out = out.transpose(1, 2).contiguous().view(b, t, -1)
        return self.resid_dropout(self.wo(out))


class FeedForward(nn.Module):
    def __init__(self, args):
        super().__init__()
        self.w1 = nn.Linear(args.dim, args.hidden_dim, bias=False)
        self.w2 = nn.Linear(args.hidden_dim, args.dim, bias=False)
        self.w3 = nn.Linear(args.dim, args.hidden_dim, bias=False)
        self.dropout = nn.Dropout(args.dropout)

    def forward(self, x):
        return self.dropout(self.w2(F.silu(self.w1(x)) * self.w3(x)))


class TransformerBlock(nn.Module):
    def __init__(self, args):
        super().__init__()
        self.attention = Attention(args)
        self.feed_forward = FeedForward(args)
        self.attention_norm = RMSNorm(args.dim, args.norm_eps)
        self.ffn_norm = RMSNorm(args.dim, args.norm_eps)

    def forward(self, x, cos, sin):
        h = x + self.attention(self.attention_norm(x), cos, sin)
        return h + self.feed_forward(self.ffn_norm(h))


class Transformer(nn.Module):
    def __init__(self, args):
        super().__init__()
        args.check()
        self.args = args
        self.tok_embeddings = nn.Embedding(args.vocab_size, args.dim)
        self.dropout = nn.Dropout(args.dropout)
        self.layers = nn.ModuleList(TransformerBlock(args) for _ in range(args.n_layers))
        self.norm = RMSNorm(args.dim, args.norm_eps)
        self.output = nn.Linear(args.dim, args.vocab_size, bias=False)
        if args.tied:
            self.tok_embeddings.weight = self.output.weight
        cos, sin = precompute_rope(args.head_dim, args.max_seq_len)
        self.register_buffer("freqs_cos", cos, persistent=False)
        self.register_buffer("freqs_sin", sin, persistent=False)
        self._init_weights()

    def _init_weights(self):
        # llama2.c: every matrix N(0, 0.02), then w3 and wo re-drawn at 0.02/sqrt(2 n_layers) (its authors meant w2:
        # llama2.c issue #579; TinyLlm keeps w3 so both programs start from the same distribution)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
        for name, p in self.named_parameters():
            if name.endswith("w3.weight") or name.endswith("wo.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * self.args.n_layers))

    def forward(self, tokens, targets=None):
        """Logits (batch, seq, vocab); with targets also the mean cross-entropy (targets -1 are ignored)."""
        h = self.dropout(self.tok_embeddings(tokens))
        for layer in self.layers:
            h = layer(h, self.freqs_cos, self.freqs_sin)
        logits = self.output(self.norm(h))
        if targets is None:
            return logits
        return logits, F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)

    def set_dropout(self, p):
        """Dropout probability p everywhere (a file records none: continuing a model chooses it anew)."""
        self.args.dropout = p
        for module in self.modules():
            if isinstance(module, nn.Dropout):
                module.p = p
            elif isinstance(module, Attention):
                module.dropout = p

    def optimizer_groups(self, weight_decay):
        """AdamW groups: every tensor of 2+ dimensions (matrices, the embedding) decays, norm gains do not."""
        params = [p for p in self.parameters() if p.requires_grad]  # the tied embedding appears once
        return [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
                {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]

    def flops_per_token(self):
        """PaLM appendix B, as llama2.c: 6N + 12 L H Q T."""
        a = self.args
        n = sum(p.numel() for p in self.parameters())
        return 6 * n + 12 * a.n_layers * a.n_heads * a.head_dim * a.max_seq_len
