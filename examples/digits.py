"""Train an image classifier on the 8x8 handwritten digits (1,797 images, shipped in examples/data/).

    python examples/digits.py                      # small CNN on cpu, prints the test accuracy last
    python examples/digits.py --model mlp --epochs 20
    python examples/digits.py --stop-after 5       # stop after epoch 5 of 15 (the checkpoint is kept) ...
    python examples/digits.py --resume             # ... and continue: same result as one uninterrupted run

Written as a PyTorch user would write it: replace `import tritorch as torch` by `import torch` and it runs on
PyTorch unchanged. The 1,797 images are split once, by a seeded generator, into 1,437 training and 360 test
images. A checkpoint (model, optimizer, epoch; safetensors via torch.save) is written after every epoch;
`--resume` continues from it and gives the same result as an uninterrupted run. Same --seed, same result.

Measured on the shared 2-core CPU (README has the figures): with the defaults the CNN reaches 99.17% test
accuracy (98.89-99.17% over seeds 0-2; 15 epochs, ~12 s) and the MLP 97.50-98.06% (30 epochs, ~3-5 s).
"""
import argparse
import os
import sys
import time

import numpy as np
from tqdm import tqdm

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import tritorch as torch  # noqa: E402

nn = torch.nn
F = torch.nn.functional
DataLoader, TensorDataset = torch.utils.data.DataLoader, torch.utils.data.TensorDataset

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "digits8x8.npz")
TEST_SIZE = 360
DEFAULT_EPOCHS = {"mlp": 30, "cnn": 15}
DEFAULT_LR = {"mlp": 5e-3, "cnn": 2e-3}


class MLP(nn.Module):
    def __init__(self, hidden: int = 256, num_classes: int = 10):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.net(x)


class SmallCNN(nn.Module):
    """1x8x8 -> conv 32 -> pool -> 32x4x4 -> conv 64 -> pool -> 64x2x2 -> linear 10."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(64 * 2 * 2, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


def build_model(kind: str) -> nn.Module:
    return {"mlp": MLP, "cnn": SmallCNN}[kind]()


def load_digits(device, split_seed: int = 0):
    """(train, test) TensorDatasets of (N, 1, 8, 8) float images in [0, 1] and int64 labels."""
    data = np.load(DATA)
    images = torch.tensor(data["images"], dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.tensor(data["labels"], dtype=torch.int64)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(split_seed))
    test, train = order[:TEST_SIZE], order[TEST_SIZE:]
    return (TensorDataset(images[train].to(device), labels[train].to(device)),
            TensorDataset(images[test].to(device), labels[test].to(device)))


@torch.no_grad()
def evaluate(model, loader) -> float:
    model.eval()
    correct = total = 0
    for images, labels in loader:
        correct += (model(images).argmax(dim=1) == labels).sum().item()
        total += labels.shape[0]
    model.train()
    return correct / total


def train_one_epoch(model, loader, optimizer, desc: str, progress: bool = True) -> tuple[float, float]:
    model.train()
    loss_sum = correct = seen = 0
    bar = tqdm(loader, desc=desc, leave=False, disable=not progress)
    for images, labels in bar:
        logits = model(images)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        n = labels.shape[0]
        loss_sum += loss.item() * n
        correct += (logits.argmax(dim=1) == labels).sum().item()
        seen += n
        bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.3f}")
    return loss_sum / seen, correct / seen


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=["mlp", "cnn"], default="cnn")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--epochs", type=int, default=None, help="total epochs (default: 30 for mlp, 15 for cnn)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (default: 5e-3 mlp, 2e-3 cnn)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", default=None, help="default: examples/checkpoints/digits_<model>.safetensors")
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    p.add_argument("--stop-after", type=int, default=None, help="stop after this epoch, as if interrupted")
    p.add_argument("--limit", type=int, default=None, help="use only this many training images (smoke tests)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = p.parse_args(argv)
    if args.epochs is None:
        args.epochs = DEFAULT_EPOCHS[args.model]
    if args.lr is None:
        args.lr = DEFAULT_LR[args.model]
    if args.checkpoint is None:
        args.checkpoint = os.path.join(os.path.dirname(os.path.abspath(__file__)), "checkpoints",
                                       f"digits_{args.model}.safetensors")
    return args


def main(argv=None) -> float:
    """Train (or resume), save the checkpoint, print and return the final test accuracy."""
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    train_set, test_set = load_digits(args.device)
    if args.limit is not None:
        train_set = TensorDataset(*(t[:args.limit] for t in train_set.tensors))
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                              generator=torch.Generator().manual_seed(args.seed))
    test_loader = DataLoader(test_set, batch_size=512)

    model = build_model(args.model).to(args.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    start_epoch = 0
    if args.resume:
        checkpoint = torch.load(args.checkpoint, map_location=args.device)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        start_epoch = int(checkpoint["epoch"])
        print(f"resumed from {args.checkpoint} after epoch {start_epoch}")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{args.model}: {n_params:,} parameters, {len(train_set)} train / {len(test_set)} test images, "
          f"device {args.device}")

    os.makedirs(os.path.dirname(os.path.abspath(args.checkpoint)), exist_ok=True)
    start, test_acc = time.perf_counter(), None
    for epoch in range(start_epoch, min(args.epochs, args.stop_after or args.epochs)):
        train_loader.generator.manual_seed(args.seed + epoch)  # per-epoch order, so resuming is exact
        loss, train_acc = train_one_epoch(model, train_loader, optimizer, f"epoch {epoch + 1}/{args.epochs}",
                                          progress=not args.no_progress)
        scheduler.step()
        test_acc = evaluate(model, test_loader)
        print(f"epoch {epoch + 1:3d}  loss {loss:.4f}  train acc {train_acc:.4f}  test acc {test_acc:.4f}  "
              f"({time.perf_counter() - start:.1f}s)")
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "epoch": epoch + 1},
                   args.checkpoint)
    if test_acc is None:  # nothing left to train
        test_acc = evaluate(model, test_loader)
    print(f"test accuracy: {100 * test_acc:.2f}%")
    return test_acc


if __name__ == "__main__":
    main()
