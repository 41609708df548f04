"""Train a small character-level GPT on text that ships with Python (the pydoc topic pages).

Run ``python -m ember.examples.char_gpt``: it prints text sampled from the untrained
model, trains with a progress bar showing the loss of the latest step, and prints a sample
again and a summary of the loss: its mean over the first and over the last ten steps.
"""
import argparse
import math
import time

from tqdm import tqdm

from ember import nn, optim
from ember.autograd import no_grad
from ember.creation import arange, tensor
from ember.ops.join import cat
from ember.random import Generator, manual_seed, multinomial, randint
from ember.nn import functional as F  # noqa: N812 (torch convention)


def load_text(limit_chars):
    """The help texts of ``pydoc_data.topics``, joined: about 700 kB of English and Python."""
    from pydoc_data.topics import topics
    text = "\n".join(topics[key] for key in sorted(topics))
    return text[:limit_chars] if limit_chars else text


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        batch, seq, width = x.shape
        q, k, v = self.qkv(x).reshape(batch, seq, 3, self.n_heads, width // self.n_heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(batch, seq, width))


class Block(nn.Module):
    """Pre-norm transformer block: x + attention(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, d_model, n_heads):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_heads)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, vocab_size, context, d_model=128, n_heads=4, n_layers=2):
        super().__init__()
        self.context = context
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(context, d_model)
        self.blocks = nn.Sequential(*(Block(d_model, n_heads) for _ in range(n_layers)))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, idx):
        positions = arange(idx.shape[1])
        return self.head(self.ln_f(self.blocks(self.tok(idx) + self.pos(positions))))

    @no_grad()
    def sample(self, prompt, length, temperature=0.8, generator=None):
        self.eval()
        idx = prompt
        for _ in range(length):
            logits = self(idx[:, -self.context:])[:, -1] / temperature
            nxt = multinomial(F.softmax(logits, dim=-1), 1, generator=generator)
            idx = cat([idx, nxt], dim=1)
        self.train()
        return idx


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m ember.examples.char_gpt", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--steps", type=int, default=400, help="training steps")
    parser.add_argument("--context", type=int, default=64, help="characters the model sees at once")
    parser.add_argument("--batch-size", type=int, default=32, help="windows per step")
    parser.add_argument("--d-model", type=int, default=128, help="width of the transformer")
    parser.add_argument("--layers", type=int, default=2, help="transformer blocks")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--text-chars", type=int, default=200_000, help="use the first N characters (0: all)")
    parser.add_argument("--sample-chars", type=int, default=200, help="characters to sample before and after")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights, batches and samples")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    manual_seed(args.seed)
    text = load_text(args.text_chars)
    chars = sorted(set(text))
    encode = {c: i for i, c in enumerate(chars)}
    data = tensor([encode[c] for c in text])

    def decode(ids):
        return "".join(chars[i] for i in ids)

    model = GPT(len(chars), args.context, args.d_model, n_layers=args.layers)
    optimizer = optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    scheduler = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=args.steps)
    prompt = data[: args.context // 2].unsqueeze(0)
    sampler = Generator().manual_seed(args.seed)
    print(f"{len(text):,} characters, {len(chars)} symbols, {sum(p.numel() for p in model.parameters()):,} parameters")
    print("--- sample before training ---")
    print(decode(model.sample(prompt, args.sample_chars, generator=sampler)[0, prompt.shape[1]:].tolist()))

    start, losses = time.perf_counter(), []
    offsets = arange(args.context + 1)
    for _ in (bar := tqdm(range(args.steps), desc="training", disable=args.quiet)):
        starts = randint(0, len(data) - args.context - 1, (args.batch_size, 1))
        window = data[starts + offsets]
        logits = model(window[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), window[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        bar.set_postfix(step_loss=f"{losses[-1]:.3f}")

    print("--- sample after training ---")
    print(decode(model.sample(prompt, args.sample_chars, generator=sampler)[0, prompt.shape[1]:].tolist()))
    first, last = sum(losses[:10]) / min(10, len(losses)), sum(losses[-10:]) / min(10, len(losses))
    print(f"mean loss of the first 10 steps {first:.3f} -> of the last 10 steps {last:.3f} "
          f"(uniform guessing: {math.log(len(chars)):.3f}) "
          f"in {time.perf_counter() - start:.1f}s")
    return first, last


if __name__ == "__main__":
    main()
