"""The model suite: training steps (forward, loss, backward, optimizer step) of an MLP 784-256-10, a small CNN and
a small GPT, plus optimizer steps alone.

Every model is written once against the PyTorch-shaped API of a library namespace `lib`: `tritorch` for the
measured rows and `torch` for the peer, so both run the same code. A model whose pieces tritorch does not have
yet (an import or attribute that fails) gives a row skipped with the reason, and the rest of the suite runs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from .timer import Timer


@dataclass
class ModelCase:
    name: str
    mode: str          # "train_step" | "optim_step"
    shape: str         # what one step processes, for the row label
    samples: int       # examples per step (for samples/s)
    build: Callable    # build(lib, device) -> step(): one timed step
    device: str = "cpu"
    dtype: str = "float32"

    @property
    def label(self) -> str:
        return f"{self.name} {self.shape} {self.mode} [{self.device}]"


# ------------------------------------------------------------------------------------------------ models

def _mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def _cnn(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16 * 7 * 7, 10))


GPT_CONFIG = dict(vocab=256, block=64, d_model=64, n_head=4, n_layer=2)


def _gpt(lib, vocab, block, d_model, n_head, n_layer):
    nn = lib.nn
    F = nn.functional

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(d_model, 3 * d_model)
            self.proj = nn.Linear(d_model, d_model)

        def forward(self, x, causal):
            b, t, d = x.shape
            hd = d // n_head
            q, k, v = self.qkv(x).split(d, dim=2)
            q, k, v = (z.view(b, t, n_head, hd).transpose(1, 2) for z in (q, k, v))
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
            att = F.softmax(att.masked_fill(causal, float("-inf")), dim=-1)
            return self.proj((att @ v).transpose(1, 2).contiguous().view(b, t, d))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(d_model)
            self.attn = Attention()
            self.ln2 = nn.LayerNorm(d_model)
            self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

        def forward(self, x, causal):
            x = x + self.attn(self.ln1(x), causal)
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(vocab, d_model)
            self.pos = nn.Embedding(block, d_model)
            self.blocks = nn.ModuleList([Block() for _ in range(n_layer)])
            self.ln = nn.LayerNorm(d_model)
            self.head = nn.Linear(d_model, vocab)

        def forward(self, idx):
            b, t = idx.shape
            pos = lib.arange(t, device=idx.device)
            causal = lib.ones(t, t, device=idx.device).triu(1).bool()  # True above the diagonal: masked out
            x = self.tok(idx) + self.pos(pos)
            for blk in self.blocks:
                x = blk(x, causal)
            return self.head(self.ln(x))

    return GPT()


# ------------------------------------------------------------------------------------------------ steps

def _train_step(lib, model, inputs, targets, optimizer, flatten_logits=False):
    F = lib.nn.functional

    def step():
        optimizer.zero_grad(set_to_none=True)
        logits = model(inputs)
        if flatten_logits:
            loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))
        else:
            loss = F.cross_entropy(logits, targets)
        loss.backward()
        optimizer.step()

    return step


def build_mlp(lib, device, batch=64):
    model = _mlp(lib).to(device)
    x = lib.randn(batch, 784, device=device)
    y = lib.randint(0, 10, (batch,), device=device)
    return _train_step(lib, model, x, y, lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))


def build_cnn(lib, device, batch=32):
    model = _cnn(lib).to(device)
    x = lib.randn(batch, 1, 28, 28, device=device)
    y = lib.randint(0, 10, (batch,), device=device)
    return _train_step(lib, model, x, y, lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))


def build_gpt(lib, device, batch=8):
    cfg = GPT_CONFIG
    model = _gpt(lib, **cfg).to(device)
    idx = lib.randint(0, cfg["vocab"], (batch, cfg["block"]), device=device)
    tgt = lib.randint(0, cfg["vocab"], (batch, cfg["block"]), device=device)
    return _train_step(lib, model, idx, tgt, lib.optim.AdamW(model.parameters(), lr=1e-3), flatten_logits=True)


def _optim_only(make_optimizer):
    """An optimizer step alone over the GPT's parameters, with gradients filled once."""

    def build(lib, device):
        model = _gpt(lib, **GPT_CONFIG).to(device)
        for p in model.parameters():
            p.grad = lib.ones_like(p) * 1e-3
        opt = make_optimizer(lib, model.parameters())
        return opt.step

    return build


def _n_gpt_params():
    c = GPT_CONFIG
    d = c["d_model"]
    per_block = 4 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d)
    return c["vocab"] * d + c["block"] * d + c["n_layer"] * per_block + 2 * d + d * c["vocab"] + c["vocab"]


def cases(device="cpu", batch: int | None = None) -> list[ModelCase]:
    """The model cases; `batch` overrides every training step's batch size (dry runs under the interpreter)."""
    b_mlp, b_cnn, b_gpt = (batch, batch, batch) if batch else (64, 32, 8)
    gpt = f"batch={b_gpt} seq={GPT_CONFIG['block']} d={GPT_CONFIG['d_model']} layers={GPT_CONFIG['n_layer']}"
    params = f"{_n_gpt_params()} params"
    return [
        ModelCase("mlp", "train_step", f"batch={b_mlp} 784-256-10", b_mlp,
                  lambda lib, dev: build_mlp(lib, dev, b_mlp), device),
        ModelCase("cnn", "train_step", f"batch={b_cnn} 1x28x28", b_cnn, lambda lib, dev: build_cnn(lib, dev, b_cnn),
                  device),
        ModelCase("gpt", "train_step", gpt, b_gpt, lambda lib, dev: build_gpt(lib, dev, b_gpt), device),
        ModelCase("adamw", "optim_step", params, 1,
                  _optim_only(lambda lib, ps: lib.optim.AdamW(ps, lr=1e-3)), device),
        ModelCase("sgd_momentum", "optim_step", params, 1,
                  _optim_only(lambda lib, ps: lib.optim.SGD(ps, lr=1e-2, momentum=0.9)), device),
    ]


def plan(device="cpu", pattern=None, batch: int | None = None) -> list[ModelCase]:
    from .ops_suite import matches
    return [c for c in cases(device, batch) if matches(pattern, c.name, "models", f"models/{c.name}")]


# ------------------------------------------------------------------------------------------------ running

def _missing(e: Exception) -> bool:
    """An error that means tritorch lacks a piece of the API yet (the row is skipped, not failed)."""
    return isinstance(e, (ImportError, AttributeError, NotImplementedError))


def _describe(e: Exception) -> str:
    return f"{e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]


class ModelRunner:
    def __init__(self, device="cpu", budget=0.5, warmup=0.05, torch=None, min_repeats=5):
        self.device = str(device)
        self.budget, self.warmup, self.torch, self.min_repeats = budget, warmup, torch, min_repeats

    def _timer(self, stream=None, threads=None) -> Timer:
        return Timer(self.device, budget=self.budget, warmup=self.warmup, flush_l2=False, stream=stream,
                     threads=threads, min_repeats=self.min_repeats)

    def run(self, case: ModelCase) -> dict:
        row = {"kind": "model", "name": case.name, "family": "models", "device": case.device, "dtype": case.dtype,
               "mode": case.mode, "shape": case.shape, "size": case.samples, "error": None, "skipped": None,
               "peers": {}, "accuracy": None, "bytes": None, "flops": None}
        import tritorch
        try:
            import tritorch.nn  # noqa: F401 - may be incomplete while it is being written
            import tritorch.optim  # noqa: F401
            step = case.build(tritorch, case.device)
            step()
        except Exception as e:  # noqa: BLE001
            if _missing(e):
                row["skipped"] = f"{case.name}: tritorch lacks a piece it needs ({_describe(e)})"
            else:
                row["error"] = _describe(e)
            return row
        timer = self._timer()
        try:
            m = timer.measure(step)
        except Exception as e:  # noqa: BLE001
            row["error"] = _describe(e)
            return row
        finally:
            timer.close()
        row.update(m.to_json())
        row["python_s"] = m.host.median if m.host is not None else None
        row["samples_per_s"] = case.samples / m.time.median if m.time.median > 0 else None
        self._torch_peer(case, row)
        return row

    def _torch_peer(self, case, row):
        from .peers import torch_device
        torch = self.torch
        tdev = torch_device(case.device, torch) if torch is not None else None
        if tdev is None:
            return
        try:
            step = case.build(torch, tdev)
            stream = torch.cuda.current_stream().cuda_stream if tdev == "cuda" else None
            timer = self._timer(stream, None if tdev == "cuda" else torch.get_num_threads())
            m = timer.measure(step)
            timer.close()
        except Exception as e:  # noqa: BLE001 - a peer failure is recorded, not fatal
            row["peers"]["torch"] = {"error": _describe(e)}
            return
        row["peers"]["torch"] = {"time": m.time.to_json(), "kernel": m.kernel.to_json() if m.kernel else None,
                                 "threads": m.threads, "ratio": row["time"]["median"] / m.time.median}
