"""Writing files so that a crash never leaves a half-written one under the final name."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ganforge.errors import UserError, WriteFailed


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is fsynced and renamed onto ``path``.

    On any error the temporary file is removed and ``path`` keeps its previous content; a failed write
    (a full disk, no permission) becomes :class:`WriteFailed` with a one-line reason.
    """
    path = Path(path)
    with _as_write_failed(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_MARK + path.suffix)
        os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs should read like any other
    try:
        with _as_write_failed(path):
            yield Path(tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            replace(Path(tmp), path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


TEMP_MARK = ".tmp"
# Windows refuses to replace a file that another program holds open (an open report, a viewer): such
# holds are usually brief, so the rename is retried for a while before it is reported.
REPLACE_TRIES, REPLACE_WAIT_S = 20, 0.1


def replace(tmp: Path, path: Path) -> None:
    """``os.replace(tmp, path)``, retried while another program holds ``path`` (Windows), then one line.

    Raises:
        WriteFailed: ``path`` stayed held; it keeps its previous content (``tmp`` is removed by the caller).
    """
    for attempt in range(REPLACE_TRIES):
        try:
            os.replace(tmp, path)
            return
        except PermissionError as exc:
            if not _held_open(exc):
                raise
            if attempt == REPLACE_TRIES - 1:
                raise WriteFailed(
                    f"could not replace {path}: another program holds it open (close it and try again); "
                    "the previous file is intact"
                ) from None
            time.sleep(REPLACE_WAIT_S * (1 + attempt // 5))


@contextlib.contextmanager
def atomic_folder(out: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; on success it is renamed to ``out``, on error removed.

    Raises:
        UserError: ``out`` exists and is not an empty folder, or its parent folder does not exist.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"--out {out} exists and is not an empty folder; choose a new one")
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: the folder {out.parent} does not exist")
    with _as_write_failed(out):
        work = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=TEMP_MARK))
    try:
        yield work
        if out.exists():
            out.rmdir()  # empty, checked above
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete the temporary files that a killed process left behind under ``folder`` (only ours)."""
    stale = [p for p in Path(folder).rglob(f".*{TEMP_MARK}*") if p.is_file()] if Path(folder).is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def append_line(path: Path, record: dict[str, Any]) -> None:
    """Append ``record`` as one JSON line (a JSONL log); a failed write becomes :class:`WriteFailed`."""
    with _as_write_failed(path), open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The records of a JSONL log, skipping a line a crash or a full disk left half-written."""
    return read_jsonl_counted(path)[0]


def read_jsonl_counted(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The records of a JSONL log and how many non-empty lines were damaged (skipped)."""
    records, damaged = [], 0
    for line in Path(path).read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            damaged += line.strip() != ""
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            damaged += 1
    return records, damaged


@contextlib.contextmanager
def _as_write_failed(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise WriteFailed(f"could not write {path}: {reason}; files written before are intact") from None
    except RuntimeError as exc:
        # torch.save reports a failed write (e.g. a full disk) as a RuntimeError from its zip writer.
        if "writ" not in str(exc).lower():
            raise
        first = str(exc).strip().splitlines()[0][:200]
        raise WriteFailed(f"could not write {path}: {first}; files written before are intact") from None


def write_atomic(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(content)


def _held_open(exc: OSError) -> bool:
    """A Windows sharing violation (or its access-denied twin), not a plain lack of permission."""
    return getattr(exc, "winerror", None) in (5, 32)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not every filesystem allows opening a directory.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def truncate_jsonl(path: Path, step: int) -> None:
    """Keep only the records of steps up to ``step`` (and drop half-written lines), atomically."""
    if Path(path).is_file():
        kept = [r for r in read_jsonl(path) if int(r.get("step", 0)) <= step]
        write_atomic(Path(path), "".join(json.dumps(r) + "\n" for r in kept).encode())
