"""Train the MNIST / Fashion-MNIST feature classifier of ganforge's metrics and write its provenance.

    python scripts/train_classifier.py mnist           # -> src/ganforge/metrics/weights/mnist-cnn.pt + .json
    python scripts/train_classifier.py fashion-mnist --epochs 8

Deterministic on CPU for a given seed and thread count. The JSON record holds the training data's
sha256, the command, the seed, the test accuracy and the weights file's sha256 (checked on load).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time

import torch
import torch.nn.functional as F

from ganforge.config import DataConfig
from ganforge.data import load_data
from ganforge.data.images import to_unit_range
from ganforge.metrics.classifier import WEIGHTS_DIR, DigitCNN
from ganforge.metrics.extractors import data_sha256


def shifted(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Random translations of up to 2 pixels (pad, then crop), so features tolerate small offsets."""
    dx, dy = (int(v) for v in torch.randint(-2, 3, (2,), generator=rng))
    padded = F.pad(x, (2, 2, 2, 2), value=-1.0)
    return padded[:, :, 2 + dy : 30 + dy, 2 + dx : 30 + dx]


def accuracy(model: DigitCNN, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        hits = sum(
            int((model(to_unit_range(x, "cpu")).argmax(1) == y).sum())
            for x, y in zip(images.split(1000), labels.split(1000), strict=True)
        )
    return hits / len(labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("dataset", choices=["mnist", "fashion-mnist"])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    train = load_data(DataConfig(source=args.dataset, split="train"))
    test = load_data(DataConfig(source=args.dataset, split="test"))
    model = DigitCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=args.epochs * (len(train) // 128))
    rng = torch.Generator().manual_seed(args.seed)
    started = time.monotonic()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(train), generator=rng)
        for b in range(len(train) // 128):
            idx = order[b * 128 : (b + 1) * 128]
            x = shifted(to_unit_range(train.images[idx], "cpu"), rng)
            loss = F.cross_entropy(model(x), train.labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        acc = accuracy(model, test.images, test.labels)
        print(f"epoch {epoch + 1}: test accuracy {acc:.4f} ({time.monotonic() - started:.0f}s)", flush=True)
    out = WEIGHTS_DIR / f"{args.dataset}-cnn.pt"
    torch.save(model.state_dict(), out)
    record = {
        "dataset": args.dataset,
        "architecture": "DigitCNN (ganforge.metrics.classifier)",
        "train_data_sha256": data_sha256(train),
        "train_images": len(train),
        "command": "python scripts/train_classifier.py " + " ".join(sys.argv[1:]),
        "seed": args.seed,
        "epochs": args.epochs,
        "test_accuracy": round(acc, 4),
        "test_images": len(test),
        "torch": torch.__version__,
        "weights_sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
    }
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
