"""Atomic writes on every OS: a file another program holds open (Windows) is retried, then refused."""

from __future__ import annotations

import os

import pytest

from ganforge import fileio
from ganforge.errors import WriteFailed


def _sharing_violation() -> PermissionError:
    error = PermissionError(13, "The process cannot access the file because it is being used")
    error.winerror = 32  # what Windows reports while a viewer or an open report holds the file
    return error


def test_a_held_file_is_retried_until_it_is_let_go(tmp_path, monkeypatch):
    target = tmp_path / "report.html"
    target.write_text("old")
    real_replace, calls = os.replace, []

    def held_twice(src, dst):
        calls.append(dst)
        if len(calls) <= 2:
            raise _sharing_violation()
        real_replace(src, dst)

    monkeypatch.setattr(fileio.os, "replace", held_twice)
    monkeypatch.setattr(fileio, "REPLACE_WAIT_S", 0.001)
    fileio.write_atomic(target, b"new")
    assert target.read_text() == "new" and len(calls) == 3


def test_a_file_held_for_good_fails_in_one_line_and_keeps_its_old_content(tmp_path, monkeypatch):
    target = tmp_path / "config.json"
    target.write_text("old")
    monkeypatch.setattr(fileio.os, "replace", lambda src, dst: (_ for _ in ()).throw(_sharing_violation()))
    monkeypatch.setattr(fileio, "REPLACE_WAIT_S", 0.001)
    with pytest.raises(WriteFailed, match="another program holds it open") as caught:
        fileio.write_atomic(target, b"new")
    assert "\n" not in str(caught.value)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]  # no half-written temp file


def test_a_plain_permission_error_is_not_retried(tmp_path, monkeypatch):
    calls = []

    def denied(src, dst):
        calls.append(dst)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(fileio.os, "replace", denied)
    with pytest.raises(WriteFailed, match="Permission denied"):
        fileio.write_atomic(tmp_path / "x.json", b"{}")
    assert len(calls) == 1
