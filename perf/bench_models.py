"""Training-step times of small models on cpu: tritorch vs PyTorch, with the same model code.

    .venv/bin/python perf/bench_models.py            # both frameworks, one subprocess each, then a table
    .venv/bin/python perf/bench_models.py --only mlp --rounds 5   # the MLP cases, 5 alternating rounds

Each framework runs in its own subprocess that imports it as `torch` (for PyTorch the examples' `import tritorch as
torch` is pointed at PyTorch through sys.modules), so the examples' model classes are shared verbatim:
  - MLP 784-256-10, SGD(lr=0.01), cross-entropy, batch 64 and 1024 (the issue's target: <= 1.0x PyTorch)
  - examples/digits.py's SmallCNN, Adam, batch 32 (the example's default)
  - examples/gpt_addition.py's GPT (defaults: 2 layers, 64 wide, 3-digit problems), AdamW + clipping, batch 128
  - a word-level LSTM / GRU language model (pytorch/examples' word_language_model, small): embedding, 2-layer
    recurrent layer 128 wide, decoder to 1000 words; SGD + clipping, 35 steps x batch 20
  - an actor-critic episode (pytorch/examples' reinforcement_learning): 200 policy steps on single states, then
    the losses of all steps, backward and Adam: per-call dispatch and autograd costs
  - time to 97% test accuracy on digits with the CNN example's defaults (evaluating after each epoch)
A step is zero_grad + forward + loss + backward (+ clipping) + optimizer step; the figure is the median of timed
repetitions after warm-up. The machine is shared: compare the two columns of one run, not runs with each other.
With --rounds N the two subprocesses alternate N times (tritorch, torch, tritorch, ...), so that a burst of load
hits both; the table then shows the median of the rounds' figures and each round's ratio.
"""
import argparse
import importlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def _load_example(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", os.path.join(ROOT, "examples", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _median_step_ms(step, warmup: int, reps: int) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def _training_step(torch, model, optimizer, inputs, targets, loss_fn, clip=None):
    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        loss.item()  # a real loop reads the loss; also makes both frameworks finish the step
    return step


def run_framework(name: str, reps: int, only: str | None = None) -> dict:
    torch = importlib.import_module(name)
    if name == "torch":
        sys.modules["tritorch"] = torch  # the examples' `import tritorch as torch` gets PyTorch
    nn, F = torch.nn, torch.nn.functional
    results = {}

    for batch in (64, 1024):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        x, y = torch.randn(batch, 784), torch.randint(0, 10, (batch,))
        results[f"MLP 784-256-10 SGD, batch {batch}"] = _median_step_ms(
            _training_step(torch, model, optimizer, x, y, F.cross_entropy), 5, reps)
    if only == "mlp":
        return results

    digits = _load_example("digits")
    torch.manual_seed(0)
    model = digits.SmallCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    x, y = torch.rand(32, 1, 8, 8), torch.randint(0, 10, (32,))
    results["digits CNN Adam, batch 32"] = _median_step_ms(
        _training_step(torch, model, optimizer, x, y, F.cross_entropy), 5, reps)

    gpt = _load_example("gpt_addition")
    torch.manual_seed(0)
    task = gpt.Addition(3, 2000, 0)
    model = gpt.GPT(gpt.VOCAB_SIZE, task.block_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    inputs, targets = task.training_batch(128, torch.Generator().manual_seed(0), "cpu")

    def lm_loss(logits, targets):
        return F.cross_entropy(logits.reshape(-1, gpt.VOCAB_SIZE), targets.reshape(-1), ignore_index=-100)
    results["GPT addition AdamW+clip, batch 128"] = _median_step_ms(
        _training_step(torch, model, optimizer, inputs, targets, lm_loss, clip=1.0), 3, max(5, reps // 2))

    # A word-level language model as pytorch/examples' word_language_model builds it (embedding, a 2-layer
    # recurrent layer, a decoder), small: 35 steps of batch 20, vocabulary 1000, 128 wide.
    class RecurrentLM(nn.Module):
        def __init__(self, mode):
            super().__init__()
            self.encoder = nn.Embedding(1000, 128)
            self.rnn = getattr(nn, mode)(128, 128, 2)
            self.decoder = nn.Linear(128, 1000)

        def forward(self, tokens):
            out, _ = self.rnn(self.encoder(tokens))
            return self.decoder(out).reshape(-1, 1000)

    for mode in ("LSTM", "GRU"):
        torch.manual_seed(0)
        model = RecurrentLM(mode)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        tokens, targets = torch.randint(0, 1000, (35, 20)), torch.randint(0, 1000, (35 * 20,))
        results[f"{mode} LM 2x128, 35 steps x batch 20"] = _median_step_ms(
            _training_step(torch, model, optimizer, tokens, targets, F.cross_entropy, clip=0.25), 3, max(5, reps // 2))

    # An episode of pytorch/examples' reinforcement_learning/actor_critic.py: 200 steps of a policy on one state
    # each (Linear 4-128, action and value heads, softmax, Categorical sample and log_prob), then the returns, the
    # policy and smooth-L1 value losses of every step, one backward through all of them and an Adam step. Small
    # ops one after another: the per-call cost of dispatch and autograd, not arithmetic.
    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.affine1 = nn.Linear(4, 128)
            self.action_head = nn.Linear(128, 2)
            self.value_head = nn.Linear(128, 1)

        def forward(self, x):
            x = F.relu(self.affine1(x))
            return F.softmax(self.action_head(x), dim=-1), self.value_head(x)

    torch.manual_seed(0)
    policy = Policy()
    policy_optimizer = torch.optim.Adam(policy.parameters(), lr=3e-2)
    states = torch.randn(200, 4)

    def episode():
        saved = []
        for t in range(states.shape[0]):
            probs, value = policy(states[t])
            m = torch.distributions.Categorical(probs)
            action = m.sample()
            saved.append((m.log_prob(action), value))
            action.item()
        returns, discounted = [], 0.0
        for _ in saved:
            discounted = 1.0 + 0.99 * discounted
            returns.insert(0, discounted)
        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + 1e-8)
        policy_losses, value_losses = [], []
        for (log_prob, value), r in zip(saved, returns):
            policy_losses.append(-log_prob * (r - value.item()))
            value_losses.append(F.smooth_l1_loss(value, torch.tensor([r])))
        policy_optimizer.zero_grad()
        loss = torch.stack(policy_losses).sum() + torch.stack(value_losses).sum()
        loss.backward()
        policy_optimizer.step()
    results["actor-critic episode, 200 steps"] = _median_step_ms(episode, 2, max(3, reps // 6))

    # Time to 97% test accuracy: the digits example's CNN loop with its defaults.
    torch.manual_seed(0)
    train_set, test_set = digits.load_digits("cpu")
    loader = torch.utils.data.DataLoader(train_set, batch_size=32, shuffle=True,
                                         generator=torch.Generator().manual_seed(0))
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=512)
    model = digits.SmallCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=15)
    start, epochs, accuracy = time.perf_counter(), 0, 0.0
    while accuracy < 0.97 and epochs < 15:
        loader.generator.manual_seed(epochs)
        digits.train_one_epoch(model, loader, optimizer, "", progress=False)
        scheduler.step()
        epochs += 1
        accuracy = digits.evaluate(model, test_loader)
    results["time to 97% on digits (CNN), s"] = time.perf_counter() - start
    results["epochs to 97%"] = epochs
    results["accuracy reached"] = accuracy
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--framework", choices=["tritorch", "torch"], help="run one framework (used by the parent)")
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--rounds", type=int, default=1, help="alternating subprocess rounds per framework")
    p.add_argument("--only", choices=["mlp"], help="only the MLP cases (issue 4's target)")
    args = p.parse_args()
    if args.framework:
        print(json.dumps(run_framework(args.framework, args.reps, args.only)))
        return
    env = dict(os.environ, TRITON_INTERPRET=os.environ.get("TRITON_INTERPRET", "1"))
    rounds = {"tritorch": [], "torch": []}
    loads = []
    for _ in range(args.rounds):
        for framework in rounds:
            cmd = [sys.executable, __file__, "--framework", framework, "--reps", str(args.reps)]
            if args.only:
                cmd += ["--only", args.only]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
            rounds[framework].append(json.loads(out.strip().splitlines()[-1]))
        loads.append(os.getloadavg()[0])
    print(f"cpu, {os.cpu_count()} cores, load average {min(loads):.2f}-{max(loads):.2f}; step times are medians in "
          f"ms" + (f" (median of {args.rounds} alternating rounds)" if args.rounds > 1 else ""))
    print(f"{'':40s} {'tritorch':>10s} {'PyTorch':>10s} {'ratio':>7s}" + ("  ratio per round" if args.rounds > 1 else ""))
    for key in rounds["tritorch"][0]:
        ours = statistics.median(r[key] for r in rounds["tritorch"])
        theirs = statistics.median(r[key] for r in rounds["torch"])
        is_time = not key.startswith(("epochs", "accuracy"))
        ratio = f"{ours / theirs:.2f}x" if is_time and theirs else ""
        per_round = ""
        if is_time and args.rounds > 1:
            per_round = "  " + " ".join(f"{a[key] / b[key]:.2f}" for a, b in zip(rounds["tritorch"], rounds["torch"]))
        print(f"{key:40s} {ours:10.3f} {theirs:10.3f} {ratio:>7s}{per_round}")


if __name__ == "__main__":
    main()
