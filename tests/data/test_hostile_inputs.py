"""Broken, strange and hostile image files: each one is loaded correctly or skipped with a reason."""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from benchmarks.harness.hostile import BAD, GOOD, animated_gif, jpeg_bytes, make_hostile_folder, png_bytes
from ganforge.data import folder as folder_mod
from ganforge.data.folder import load_folder
from ganforge.errors import UserError
from tests.conftest import posix_only


@posix_only
def test_every_kind_of_bad_file_is_skipped_with_a_reason(tmp_path):
    root = tmp_path / "images"
    make_hostile_folder(root)
    (root / os.fsdecode(b"caf\xe9.png")).write_bytes(GOOD["sixteen_bit.png"][0])  # non-UTF-8 name

    data = load_folder(root, image_size=8, channels=1)

    assert len(data) == len(GOOD) + 1
    means = data.images.float().mean(dim=(1, 2, 3))
    assert means.min() > 250, means  # every good file decoded to the expected white image
    reasons = dict(line.split(": ", 1) for line in data.skipped)
    assert set(reasons) == {*BAD, "loop.png", "pipe.png"}
    assert "DecompressionBombError" in reasons["bomb.png"]
    assert "too large: declares 9000x9000" in reasons["bomb_mid.png"]
    assert reasons["pipe.png"] == "not a regular file"
    assert "UnidentifiedImageError" in reasons["not_an_image.jpg"]
    assert all("\n" not in r for r in reasons.values())


@posix_only
def test_an_unreadable_file_is_skipped(tmp_path, monkeypatch):
    root = tmp_path / "images"
    root.mkdir()
    for i in range(3):
        (root / f"ok{i}.png").write_bytes(GOOD["sixteen_bit.png"][0])
    (root / "secret.png").write_bytes(GOOD["sixteen_bit.png"][0])
    os.chmod(root / "secret.png", 0)
    if os.geteuid() == 0:  # root reads through chmod 000: make open() fail the way it would for a user
        real_open = folder_mod.Image.open

        def guarded(path, *args, **kwargs):
            if str(path).endswith("secret.png"):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(folder_mod.Image, "open", guarded)
    data = load_folder(root, image_size=8, channels=3)
    assert len(data) == 3
    assert data.skipped == [
        "secret.png: PermissionError: [Errno 13] Permission denied: " + repr(str(root / "secret.png"))
    ]


def test_a_folder_of_only_bad_files_is_one_clear_error(tmp_path):
    for name, content in BAD.items():
        (tmp_path / name).write_bytes(content)
    with pytest.raises(UserError, match=r"none of the 6 image files under .* could be read \(first: "):
        load_folder(tmp_path, image_size=8, channels=3)


_VALID = [
    png_bytes(Image.effect_noise((24, 24), 40)),
    jpeg_bytes(Image.effect_noise((24, 24), 40).convert("RGB")),
    animated_gif(),
]


@st.composite
def damaged_files(draw):
    """Valid PNG/JPEG/GIF bytes, truncated and with bytes overwritten, or pure noise."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=600))
    data = bytearray(draw(st.sampled_from(_VALID)))
    for _ in range(draw(st.integers(0, 6))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.tuples(st.sampled_from(sorted(folder_mod.EXTENSIONS)), damaged_files()), max_size=6))
def test_fuzzed_folders_load_or_fail_with_a_user_error(tmp_path_factory, files):
    root = tmp_path_factory.mktemp("fuzz")
    (root / "anchor.png").write_bytes(_VALID[0])  # one good image, so a result is possible
    for i, (ext, content) in enumerate(files):
        (root / f"f{i}{ext}").write_bytes(content)
    data = load_folder(root, image_size=8, channels=3)  # must not raise anything
    assert data.images.shape[1:] == (3, 8, 8)
    assert len(data) + len(data.skipped) == len(files) + 1
