"""Whatever names the inputs carry, ganforge writes only into the run directory and its cache."""

import os

from ganforge.cli import main
from tests.conftest import posix_only, write_images


def _files(root):
    return {p for p in root.rglob("*") if p.is_file() or p.is_symlink()}


@posix_only
def test_hostile_names_write_nothing_outside_the_run_and_cache(tmp_path, monkeypatch):
    data = tmp_path / "data"
    for name in ("..", "-rf", "$(touch pwned)", "new\nline", "a" * 200, os.fsdecode(b"\xff\xfe")):
        folder = data / ("dotdot" if name == ".." else name)
        write_images(folder, 3, size=12)
        (folder / "..png").write_bytes((folder / "img000.png").read_bytes())
        (folder / "`id`.png").write_bytes(b"not an image")
    (data / "escape.png").symlink_to(tmp_path / "outside.png")  # a dangling link out of the folder
    cache, cwd, run = tmp_path / "cache", tmp_path / "cwd", tmp_path / "run"
    cwd.mkdir()
    monkeypatch.setenv("GANFORGE_CACHE", str(cache))
    monkeypatch.chdir(cwd)
    before = _files(tmp_path)
    shape = ["--preset", "dcgan", "--image-size", "16", "--channels", "3", "--width", "8"]
    budget = ["--batch-size", "8", "--steps", "2", "--out", str(run), "--quiet", "--device", "cpu"]
    code = main(["train", str(data), *shape, *budget])
    assert code == 0
    written = _files(tmp_path) - before
    outside = [p for p in written if not (p.is_relative_to(run) or p.is_relative_to(cache))]
    assert written and not outside, outside
    assert not (tmp_path / "outside.png").exists() and not list(cwd.iterdir())
    skipped = (run / "skipped_files.txt").read_text().splitlines()[1:]
    assert sum("`id`.png: " in line for line in skipped) == 6
    assert len(skipped) == 7 and any(line.startswith("escape.png: ") for line in skipped)
