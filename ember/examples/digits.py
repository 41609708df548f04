"""Train a small CNN on the 8x8 handwritten digits that ship with ember.

Run ``python -m ember.examples.digits``: a progress bar per epoch shows the loss and
accuracy, the run ends with the test accuracy (about 98-99%), and it leaves a
checkpoint and a plot of the curves in ``--out`` (default ``runs/digits``).
``--resume`` continues from the checkpoint (or starts fresh when there is none yet);
a run that was killed and resumed ends with the same weights as one that was never
interrupted. A finished run has trained all its ``--epochs``: to train it further,
resume it with a larger ``--epochs`` (``--resume --epochs 20`` after 12).
``--compile`` runs the model's forward through ``ember.compile`` (``--compile eager`` picks the
backend; the default is "inductor"); the checkpoint is the same as an eager run's.
"""
import argparse
import os
import time

from tqdm import tqdm

from ember import nn, optim
from ember.autograd import no_grad
from ember.random import Generator, get_rng_state, manual_seed, set_rng_state
from ember.serialization import load, save
from ember.utils.data import DataLoader
from ember.vision import datasets, transforms

CHECKPOINT = "checkpoint.ember"
PLOT = "curves.png"


def build_model():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25),
        nn.Linear(64 * 4 * 4, 128), nn.ReLU(), nn.Dropout(0.25),
        nn.Linear(128, 10),
    )


def load_data(workers):
    to_tensor = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    train = datasets.Digits(train=True, transform=to_tensor)
    test = datasets.Digits(train=False, transform=to_tensor)
    return train, DataLoader(test, batch_size=512, num_workers=workers)


def train_one_epoch(model, loader, optimizer, bar):
    model.train()
    total_loss = correct = seen = 0
    for images, labels in loader:
        logits = model(images)
        loss = nn.functional.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(labels)
        correct += (logits.argmax(1) == labels).sum().item()
        seen += len(labels)
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}")
        bar.update(1)
    return total_loss / seen, correct / seen


@no_grad()
def evaluate(model, loader):
    model.eval()
    correct = sum((model(images).argmax(1) == labels).sum().item() for images, labels in loader)
    return correct / len(loader.dataset)


def save_plot(history, path):
    """Loss and accuracy per epoch as a PNG; needs matplotlib (``pip install 'ember[plot]'``)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install 'ember[plot]'): no plot written")
        return None
    epochs = range(1, len(history["loss"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.plot(epochs, history["loss"], marker="o")
    left.set(title="training loss", xlabel="epoch")
    right.plot(epochs, history["train_acc"], marker="o", label="train")
    right.plot(epochs, history["test_acc"], marker="o", label="test")
    right.set(title="accuracy", xlabel="epoch")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m ember.examples.digits", description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog="After a finished run, --resume only re-reports the accuracy: raise --epochs to train further.")
    parser.add_argument("--epochs", type=int, default=12,
                        help="train until this many epochs in all (a resumed run counts the epochs already done)")
    parser.add_argument("--batch-size", type=int, default=32, help="samples per training step")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and of each epoch's shuffle")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--out", default=os.path.join("runs", "digits"), help="folder for the checkpoint and plot")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the checkpoint in --out (start fresh when there is none)")
    parser.add_argument("--compile", nargs="?", const="inductor", default=None, metavar="BACKEND",
                        help="compile the model's forward with ember.compile (backend: inductor, eager, ...)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    manual_seed(args.seed)
    train_set, test_loader = load_data(args.workers)
    model = build_model()
    if args.compile:
        model.compile(backend=args.compile)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    history = {"loss": [], "train_acc": [], "test_acc": []}
    start_epoch = 0
    checkpoint_path = os.path.join(args.out, CHECKPOINT)
    if args.resume and not os.path.exists(checkpoint_path):
        print(f"no checkpoint at {checkpoint_path} yet: starting from epoch 1")
    elif args.resume:
        state = load(checkpoint_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        set_rng_state(state["rng_state"])
        history, start_epoch = state["history"], state["epoch"]
        print(f"resumed from {checkpoint_path} after epoch {start_epoch}")
        if start_epoch >= args.epochs:
            print(f"the checkpoint has trained all {args.epochs} epochs; to train further, resume with "
                  f"--epochs larger than {start_epoch}")
    os.makedirs(args.out, exist_ok=True)

    start = time.perf_counter()
    for epoch in range(start_epoch, args.epochs):
        # each epoch's shuffle comes from its own seed, so a resumed run sees the same batches
        shuffle = Generator().manual_seed(args.seed * 1000 + epoch)
        loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=shuffle,
                            num_workers=args.workers)
        with tqdm(total=len(loader), desc=f"epoch {epoch + 1}/{args.epochs}", disable=args.quiet) as bar:
            loss, train_acc = train_one_epoch(model, loader, optimizer, bar)
            test_acc = evaluate(model, test_loader)
            bar.set_postfix(loss=f"{loss:.4f}", acc=f"{train_acc:.3f}", test_acc=f"{test_acc:.3f}")
        for key, value in zip(history, (loss, train_acc, test_acc)):
            history[key].append(value)
        save({"epoch": epoch + 1, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
              "rng_state": get_rng_state(), "history": history}, checkpoint_path)

    test_acc = history["test_acc"][-1] if history["test_acc"] else evaluate(model, test_loader)
    print(f"test accuracy {test_acc:.4f} on {len(test_loader.dataset)} digits "
          f"({time.perf_counter() - start:.1f}s); checkpoint: {checkpoint_path}")
    plot = save_plot(history, os.path.join(args.out, PLOT)) if history["loss"] else None
    if plot:
        print(f"curves: {plot}")
    return model, test_acc


if __name__ == "__main__":
    main()
