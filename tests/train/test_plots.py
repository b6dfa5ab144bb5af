import numpy as np
from PIL import Image

from ganforge.train.plots import plot_losses, smooth


def test_smoothing_is_unbiased_and_tracks_a_step():
    np.testing.assert_allclose(smooth(np.full(50, 3.0)), 3.0)  # no pull towards 0 at the start
    step = smooth(np.r_[np.zeros(100), np.ones(100)])
    assert step[99] == 0 and 0 < step[110] < 1 and step[-1] > 0.95


def test_plot_writes_a_png(tmp_path):
    records = [{"step": s, "d_loss": 1.0, "g_loss": 0.8, "d_real": 0.6, "d_fake": 0.4} for s in range(1, 30)]
    records.append({"step": 30, "d_loss": 1.0, "d_real": 0.6, "d_fake": 0.4})  # a D-only interval
    plot_losses(records, tmp_path / "losses.png")
    assert Image.open(tmp_path / "losses.png").size[0] > 300
