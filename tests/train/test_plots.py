import numpy as np
from PIL import Image

from ganforge.train.plots import plot_losses, smooth


def test_smoothing_is_unbiased_and_tracks_a_step():
    np.testing.assert_allclose(smooth(np.full(50, 3.0)), 3.0)  # no pull towards 0 at the start
    step = smooth(np.r_[np.zeros(100), np.ones(100)])
    assert step[99] == 0 and 0 < step[110] < 1 and step[-1] > 0.95


BLUE, ORANGE = (31, 119, 180), (255, 127, 14)  # matplotlib's tab:blue and tab:orange


def _has(picture: Image.Image, colour: tuple[int, int, int]) -> bool:
    pixels = np.asarray(picture.convert("RGB")).reshape(-1, 3).astype(int)
    return bool((np.abs(pixels - colour).sum(axis=1) < 30).sum() > 50)


def test_the_loss_plot_draws_each_curve_in_its_panel(tmp_path):
    wave = [np.sin(s / 4) / 10 for s in range(1, 31)]  # curves inside the axes, not along their edges
    records = [
        {"step": s, "d_loss": 1.0 + w, "g_loss": 0.7 - w, "d_real": 0.6 + w, "d_fake": 0.3 - w}
        for s, w in zip(range(1, 30), wave, strict=False)
    ]
    records.append({"step": 30, "d_loss": 1.0, "d_real": 0.6, "d_fake": 0.4})  # a D-only interval
    plot_losses(records, tmp_path / "losses.png")
    picture = Image.open(tmp_path / "losses.png")
    top = picture.crop((0, 0, picture.width, picture.height // 2))
    bottom = picture.crop((0, picture.height // 2, picture.width, picture.height))
    # D loss / D(x) in blue, G loss / D(G(z)) in orange: both lines in both panels.
    assert all(_has(panel, c) for panel in (top, bottom) for c in (BLUE, ORANGE))
    d_only = [{k: v for k, v in r.items() if k not in ("g_loss", "d_fake")} for r in records]
    plot_losses(d_only, tmp_path / "d_only.png")
    picture = Image.open(tmp_path / "d_only.png")
    assert _has(picture, BLUE) and not _has(picture, ORANGE)  # no curve for what was never logged


def test_the_loss_plot_draws_from_memory_at_most_every_min_seconds(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from ganforge.train.callbacks import LossPlot, MetricsLogger
    from ganforge.train.callbacks import plots as callbacks

    log = tmp_path / "metrics.jsonl"
    log.write_text("".join(f'{{"step": {s}, "d_loss": 1.0, "g_loss": 1.0}}\n' for s in (10, 20)))
    logger = MetricsLogger(log, every=10)
    drawn: list[list[int]] = []
    monkeypatch.setattr(
        callbacks, "plot_losses", lambda records, out: drawn.append([r["step"] for r in records])
    )
    reads: list[object] = []
    read = callbacks.read_jsonl
    monkeypatch.setattr(callbacks, "read_jsonl", lambda path: reads.append(path) or read(path))
    clock = [1000.0]
    monkeypatch.setattr(callbacks.time, "monotonic", lambda: clock[0])
    plot = LossPlot(logger, tmp_path / "losses.png", every_steps=10, min_seconds=30)
    ctx = SimpleNamespace(state=SimpleNamespace(step=20))  # resumed at step 20
    plot.on_train_begin(ctx)
    for step in (30, 40, 50):
        logger.records.append({"step": step, "d_loss": 1.0})
        ctx.state.step = step
        plot.on_step_end(ctx, {}, 1)
        clock[0] += 20  # a grid interval every 20 s: every other one is drawn
    plot.on_train_end(ctx)
    assert drawn == [[10, 20, 30], [10, 20, 30, 40, 50], [10, 20, 30, 40, 50]]
    assert len(reads) == 1  # the log was read once, at the start, never at a drawing
