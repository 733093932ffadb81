"""Real tiny trainings that exhibit one pathology each, and healthy controls of different kinds.

Each scenario trains a real PyTorch model on the CPU (well under 20 s), instrumented by the
real agent; ``expect`` names the rules that must diagnose it (empty for a control, which
must raise no warning or critical). Data is generated, nothing is downloaded. The scenario
suite (tests/scenarios) runs a fast subset; bench/diagnosis_eval.py runs them all.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from gradsight.run import Run

Train = Callable[[Run], None]


@dataclass(frozen=True)
class Scenario:
    name: str
    train: Train
    expect: frozenset[str] = field(default_factory=frozenset)
    description: str = ""

    @property
    def healthy(self) -> bool:
        return not self.expect


# -- data -----------------------------------------------------------------------------------


def regression(n: int, dim: int = 16, noise: float = 0.1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=g)
    w = torch.randn(dim, 1, generator=g) / math.sqrt(dim)
    y = torch.tanh(x @ w * 2) + noise * torch.randn(n, 1, generator=g)
    return x, y


def classification(
    n: int, dim: int = 20, classes: int = 5, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, dim, generator=g) * 0.6  # overlapping classes: a noise floor
    labels = torch.randint(0, classes, (n,), generator=g)
    x = centers[labels] + torch.randn(n, dim, generator=g)
    return x, labels


def batches(
    x: torch.Tensor, y: torch.Tensor, size: int, steps: int, seed: int = 1
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, x.shape[0], (size,), generator=g)
        yield x[idx], y[idx]


def mlp(dims: list[int], act: type[nn.Module] = nn.ReLU, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def step(run: Run, opt: torch.optim.Optimizer, loss: torch.Tensor, **extra: float) -> None:
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    run.log({"loss": loss, **extra})


# -- pathological -----------------------------------------------------------------------------


def lr_schedule_bug(run: Run) -> None:
    """Linear warmup that is never capped: the LR keeps growing until training blows up."""
    x, y = classification(4096)
    model = mlp([20, 64, 64, 5])
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    run.watch(model, opt)
    for i, (xb, yb) in enumerate(batches(x, y, 64, 700)):
        for g in opt.param_groups:
            g["lr"] = 0.002 * (i + 1)  # bug: should be 0.2 * min(1, (i + 1) / 100)
        step(run, opt, F.cross_entropy(model(xb), yb))


def adam_lr_too_high(run: Run) -> None:
    """Adam at lr=0.3 on a small classifier: every update rewrites the weights."""
    x, y = classification(4096)
    model = mlp([20, 64, 64, 5])
    opt = torch.optim.Adam(model.parameters(), lr=0.3)
    run.watch(model, opt, update_every=5)
    for xb, yb in batches(x, y, 64, 500):
        step(run, opt, F.cross_entropy(model(xb), yb))


class TanhRNN(nn.Module):
    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.rnn = nn.RNN(2, hidden, batch_first=True, nonlinearity="tanh")
        with torch.no_grad():  # orthogonal recurrent init: the usual start for long sequences
            q, _ = torch.linalg.qr(torch.randn(hidden, hidden))
            self.rnn.weight_hh_l0.copy_(q)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.rnn(x)[0][:, -1])


def adding_problem(g: torch.Generator, batch: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Hochreiter & Schmidhuber's adding problem: sum the two marked values of a long sequence."""
    values = torch.rand(batch, length, 1, generator=g)
    marks = torch.zeros(batch, length, 1)
    first = torch.randint(0, length // 2, (batch,), generator=g)
    second = torch.randint(length // 2, length, (batch,), generator=g)
    marks[torch.arange(batch), first] = 1.0
    marks[torch.arange(batch), second] = 1.0
    return torch.cat([values, marks], -1), (values * marks).sum(1)


def exploding_rnn(run: Run) -> None:
    """A tanh RNN on the adding problem over 60 steps, SGD with momentum and no clipping
    (Pascanu et al.'s setting): gradient norms grow geometrically until they overflow."""
    model = TanhRNN()
    opt = torch.optim.SGD(model.parameters(), lr=0.03, momentum=0.9)
    run.watch(model, opt, update_every=5)
    g = torch.Generator().manual_seed(0)
    for _ in range(250):
        x, y = adding_problem(g, 32, 60)
        step(run, opt, F.mse_loss(model(x), y))


def deep_sigmoid(run: Run) -> None:
    """A 12-layer sigmoid MLP with default init: the early layers barely receive a gradient."""
    x, y = classification(4096)
    model = mlp([20] + [64] * 12 + [5], act=nn.Sigmoid)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    run.watch(model, opt, update_every=5)
    for xb, yb in batches(x, y, 64, 600):
        step(run, opt, F.cross_entropy(model(xb), yb))


def dead_relus(run: Run) -> None:
    """A ReLU net whose hidden biases start at -3: most units never fire and never recover."""
    x, y = regression(4096)
    model = mlp([16, 128, 128, 1])
    with torch.no_grad():
        for layer in (model[0], model[2]):
            layer.bias.fill_(-3.0)  # type: ignore[operator]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    run.watch(model, opt, activations=True, update_every=5)
    for xb, yb in batches(x, y, 64, 400):
        step(run, opt, F.mse_loss(model(xb), yb))


def lr_too_low(run: Run) -> None:
    """Adam at lr=1e-7: healthy gradients, the weights and the loss hardly move."""
    x, y = classification(4096)
    model = mlp([20, 64, 64, 5])
    opt = torch.optim.Adam(model.parameters(), lr=1e-7)
    run.watch(model, opt, update_every=5)
    for xb, yb in batches(x, y, 64, 600):
        step(run, opt, F.cross_entropy(model(xb), yb))


def slow_input_pipeline(run: Run) -> None:
    """A loader that sleeps 8 ms per batch in the training process: the model waits for data."""
    x, y = regression(4096)
    model = mlp([16, 64, 1])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    run.watch(model, opt)
    for xb, yb in batches(x, y, 32, 250):
        time.sleep(0.008)  # decoding/augmentation on the main process
        step(run, opt, F.mse_loss(model(xb), yb))


def corrupted_batches(run: Run) -> None:
    """Every 60th batch has its labels scaled by 10 (a unit bug in some shards): loss and
    gradient spikes the run recovers from, again and again."""
    x, y = regression(4096)
    model = mlp([16, 64, 64, 1])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    run.watch(model, opt, update_every=5)
    for i, (xb, yb) in enumerate(batches(x, y, 64, 600)):
        target = yb * 10.0 if i >= 100 and i % 60 == 0 else yb
        step(run, opt, F.mse_loss(model(xb), target))


def nan_record(run: Run) -> None:
    """One record with a NaN feature reaches the model at step 300; everything after is NaN."""
    x, y = regression(4096)
    bad = x[:1].clone()
    bad[0, 3] = float("nan")
    model = mlp([16, 64, 64, 1])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    run.watch(model, opt)
    for i, (xb, yb) in enumerate(batches(x, y, 64, 400)):
        inputs = torch.cat([bad, xb[1:]]) if i == 300 else xb
        step(run, opt, F.mse_loss(model(inputs), yb))


def loss_scale_collapse(run: Run) -> None:
    """fp16-style overflow with a GradScaler on the CPU: activations overflow more and more
    often (a growing outlier feature), the scaler keeps backing off to its floor."""
    x, y = regression(4096)
    model = mlp([16, 64, 64, 1])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16, growth_interval=50)
    run.watch(model, opt, scaler=scaler)
    g = torch.Generator().manual_seed(3)
    for i, (xb, yb) in enumerate(batches(x, y, 64, 500)):
        loss = F.mse_loss(model(xb), yb)
        overflow_p = min(0.9, max(0.0, (i - 100) / 250))
        if torch.rand((), generator=g) < overflow_p:
            loss = loss * float("inf")  # what fp16 does when a product exceeds 65504
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
        run.log({"loss": loss})


def overfitting(run: Run) -> None:
    """A wide MLP on 200 samples with 30 % of their labels wrong: validation loss bottoms out
    early, then climbs while the training loss keeps falling (it memorises the noise)."""
    x_all, y_all = classification(200 + 2048, seed=1)
    g = torch.Generator().manual_seed(7)
    noisy = y_all.clone()
    flip = torch.rand(y_all.shape, generator=g) < 0.3
    noisy[flip] = torch.randint(0, 5, (int(flip.sum()),), generator=g)
    x, y, xv, yv = x_all[:200], noisy[:200], x_all[200:], y_all[200:]
    model = mlp([20, 256, 256, 5])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    run.watch(model, opt, update_every=10)
    for i, (xb, yb) in enumerate(batches(x, y, 32, 900)):
        step(run, opt, F.cross_entropy(model(xb), yb))
        if i % 25 == 0:
            with torch.no_grad():
                run.log({"val/loss": F.cross_entropy(model(xv), yv)})


def plateau(run: Run) -> None:
    """Labels independent of the inputs: the model learns the mean in a few steps, then
    nothing is left to learn while training goes on."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4096, 16, generator=g)
    y = torch.randint(0, 4, (4096,), generator=g)
    model = mlp([16, 32, 4])
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    run.watch(model, opt, update_every=5)
    for xb, yb in batches(x, y, 64, 800):
        step(run, opt, F.cross_entropy(model(xb), yb))


def epsilon_dominance(run: Run) -> None:
    """Adam with ε = 1e-3 on a loss whose gradients are ~1e-5: ε, not the gradient, sets the
    step size, and training crawls."""
    x, y = classification(4096)
    model = mlp([20, 64, 64, 5])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-3)
    run.watch(model, opt, update_every=5)
    for xb, yb in batches(x, y, 64, 500):
        step(run, opt, 1e-4 * F.cross_entropy(model(xb), yb))


# -- healthy controls -------------------------------------------------------------------------


class TinyTransformer(nn.Module):
    def __init__(self, vocab: int = 32, d: int = 32, seq: int = 16) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(seq, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, 4, 64, dropout=0.0, batch_first=True, norm_first=True)
        self.body = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(d, vocab)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(seq))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.body(self.embed(ids) + self.pos, mask=self.mask, is_causal=True)
        return self.head(h)


def warmup_cosine_transformer(run: Run) -> None:
    """A tiny causal transformer on a copy-with-offset task, AdamW, 50-step warmup then cosine."""
    model = TinyTransformer()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    total, warmup = 500, 50
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / total)))
    )
    run.watch(model, opt, update_every=10, activations=True)
    g = torch.Generator().manual_seed(0)
    for _ in range(total):
        ids = torch.randint(0, 32, (32, 17), generator=g)
        ids[:, 8:] = ids[:, :9]  # the second half repeats the first: learnable
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, 32), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        run.log({"loss": loss})


def sgd_bn_cnn(run: Run) -> None:
    """A small CNN with BatchNorm, SGD + momentum 0.9 and weight decay, on 8×8 synthetic images."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 4),
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    run.watch(model, opt, update_every=10, activations=True)
    g = torch.Generator().manual_seed(0)
    patterns = torch.randn(4, 1, 8, 8, generator=g)
    for _ in range(400):
        labels = torch.randint(0, 4, (32,), generator=g)
        images = patterns[labels] + 0.8 * torch.randn(32, 1, 8, 8, generator=g)
        step(run, opt, F.cross_entropy(model(images), labels))


def noisy_small_batch(run: Run) -> None:
    """Batch size 4 on noisy regression: a loss curve dominated by noise, but healthy."""
    x, y = regression(4096, noise=0.5)
    model = mlp([16, 64, 64, 1])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    run.watch(model, opt, update_every=10, activations=True)
    for xb, yb in batches(x, y, 4, 1500):
        step(run, opt, F.mse_loss(model(xb), yb))


def finetune_slow(run: Run) -> None:
    """Fine-tuning-like: pretrained on one task, adapted to a shifted one at a small LR; the
    loss starts above its floor and decreases slowly and steadily."""
    x, y = classification(4096, seed=0)
    model = mlp([20, 64, 64, 5])
    warm = torch.optim.Adam(model.parameters(), lr=3e-3)
    for xb, yb in batches(x, y, 64, 200, seed=9):  # "pretraining", not watched
        warm.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        warm.step()
    g = torch.Generator().manual_seed(5)
    shifted = x + 0.8 * torch.randn(1, 20, generator=g)  # the new domain: features moved
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    run.watch(model, opt, update_every=10)
    for xb, yb in batches(shifted, y, 64, 600):
        step(run, opt, F.cross_entropy(model(xb), yb))


def step_decay(run: Run) -> None:
    """SGD with a step schedule: the LR drops 10× at step 300, the loss drops with it."""
    x, y = classification(4096)
    model = mlp([20, 64, 64, 5])
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=300, gamma=0.1)
    run.watch(model, opt, update_every=10)
    for xb, yb in batches(x, y, 64, 600):
        step(run, opt, F.cross_entropy(model(xb), yb))
        sched.step()


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("lr_schedule_bug", lr_schedule_bug, frozenset({"divergence"}), "uncapped warmup"),
    Scenario("adam_lr_too_high", adam_lr_too_high, frozenset({"lr_too_high"}), "Adam lr=0.3"),
    Scenario(
        "exploding_rnn",
        exploding_rnn,
        frozenset({"exploding_gradients"}),
        "tanh RNN, adding problem T=60, no clipping",
    ),
    Scenario("deep_sigmoid", deep_sigmoid, frozenset({"vanishing_gradients"}), "12 sigmoid layers"),
    Scenario("dead_relus", dead_relus, frozenset({"dead_units"}), "ReLU biases at -3"),
    Scenario("lr_too_low", lr_too_low, frozenset({"lr_too_low"}), "Adam lr=1e-7"),
    Scenario(
        "slow_input_pipeline", slow_input_pipeline, frozenset({"input_pipeline_bound"}), "8 ms loader sleep"
    ),
    Scenario(
        "corrupted_batches",
        corrupted_batches,
        frozenset({"loss_spike", "grad_spike"}),
        "labels ×10 every 60 steps",
    ),
    Scenario(
        "nan_record",
        nan_record,
        frozenset({"nonfinite_gradients", "divergence"}),
        "a NaN feature at step 300",
    ),
    Scenario(
        "loss_scale_collapse", loss_scale_collapse, frozenset({"loss_scale_collapse"}), "overflow rate rising"
    ),
    Scenario("overfitting", overfitting, frozenset({"overfitting"}), "200 samples, 30 % noisy labels"),
    Scenario("plateau", plateau, frozenset({"loss_plateau"}), "labels independent of inputs"),
    Scenario(
        "epsilon_dominance", epsilon_dominance, frozenset({"adam_epsilon_dominance"}), "ε=1e-3, grads ~1e-5"
    ),
    Scenario("control_warmup_cosine_transformer", warmup_cosine_transformer),
    Scenario("control_sgd_bn_cnn", sgd_bn_cnn),
    Scenario("control_noisy_small_batch", noisy_small_batch),
    Scenario("control_finetune_slow", finetune_slow),
    Scenario("control_step_decay", step_decay),
)
BY_NAME = {s.name: s for s in SCENARIOS}
