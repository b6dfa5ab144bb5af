"""`ganforge serve` over HTTP: what it draws, and what it refuses (hostile and malformed requests)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import ganforge.serve as serve_module
from ganforge.cli import main
from ganforge.serve import make_server
from ganforge.serve.studio import MAX_IMAGES
from tests.conftest import posix_only


@pytest.fixture(scope="module")
def server(story_run):
    srv = make_server(story_run, port=0)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _get(server, path: str, method: str = "GET") -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=60)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


def test_a_grid_is_what_ganforge_sample_writes_for_the_same_seed(server, story_run, tmp_path):
    for query, flags in (
        ("seed=7&count=9", ["--seed", "7", "--n", "9"]),
        (
            "seed=7&count=9&label=3&truncation=0.5",
            ["--seed", "7", "--n", "9", "--label", "3", "--truncation", "0.5"],
        ),
        (
            "seed=2&count=4&checkpoint=step_000000004.pt",
            ["--seed", "2", "--n", "4", "--checkpoint", str(story_run / "checkpoints" / "step_000000004.pt")],
        ),
    ):
        status, kind, body = _get(server, f"/api/grid?{query}")
        assert (status, kind) == (200, "image/png")
        out = tmp_path / "s.png"
        assert main(["sample", str(story_run), *flags, "--out", str(out)]) == 0
        assert body == out.read_bytes(), query


def test_seeds_classes_and_checkpoints_change_the_picture(server):
    def grid(query: str) -> bytes:
        status, _, body = _get(server, f"/api/grid?count=4&{query}")
        assert status == 200, body
        return body

    assert grid("seed=1") == grid("seed=1")
    assert grid("seed=1") != grid("seed=2")
    assert grid("seed=1&label=0") != grid("seed=1&label=5")
    assert grid("seed=1&checkpoint=step_000000004.pt") != grid("seed=1&checkpoint=step_000000008.pt")


def test_best_pt_draws_what_the_step_checkpoint_it_copied_draws(server, story_run):
    records = [json.loads(line) for line in (story_run / "metrics.jsonl").read_text().splitlines()]
    best = min((r for r in records if "quality" in r), key=lambda r: r["quality"]["FD-mnist-cnn"])["step"]
    same = _get(server, f"/api/grid?seed=1&count=4&checkpoint=step_{best:09d}.pt")[2]
    assert _get(server, "/api/grid?seed=1&count=4&checkpoint=best.pt")[2] == same


def test_info_walk_and_report(server):
    status, kind, body = _get(server, "/api/info")
    info = json.loads(body)
    assert status == 200 and kind == "application/json"
    assert info["checkpoints"] == ["step_000000004.pt", "step_000000008.pt", "best.pt"]
    assert info["default"] == "step_000000008.pt" and info["conditional"] and info["num_classes"] == 10
    status, kind, body = _get(server, "/api/walk?from=3&to=4&frames=5&label=2")
    assert (status, kind) == (200, "image/png")
    from io import BytesIO

    from PIL import Image

    strip = Image.open(BytesIO(body))
    assert strip.width == 5 * strip.height  # five square frames side by side
    status, kind, body = _get(server, "/report")
    assert status == 200 and kind.startswith("text/html") and b'<section id="samples">' in body
    status, kind, body = _get(server, "/")
    assert status == 200 and b"<title>ganforge serve</title>" in body


HOSTILE = [
    "/api/grid?checkpoint=../config.json",
    "/api/grid?checkpoint=..%2F..%2F..%2Fetc%2Fpasswd",
    "/api/grid?checkpoint=%2Fetc%2Fpasswd",
    "/api/grid?checkpoint=step_000000004.pt%00",
    "/api/grid?checkpoint=checkpoints/step_000000004.pt",
    f"/api/grid?count={MAX_IMAGES + 1}",
    "/api/grid?count=99999999999999999999",
    "/api/grid?count=0",
    "/api/grid?seed=-1",
    "/api/grid?seed=1e400",
    "/api/grid?seed=0x10",
    "/api/grid?seed=%F0%9F%98%80",
    "/api/grid?truncation=nan",
    "/api/grid?truncation=inf",
    "/api/grid?truncation=1.5",
    "/api/grid?truncation=-0.1",
    "/api/grid?label=10",
    "/api/grid?label=-1",
    "/api/grid?bogus=1",
    "/api/grid?seed=1&seed=2",
    "/api/grid?&&=&",
    "/api/grid?" + "&".join(f"p{i}=1" for i in range(100)),
    "/api/walk?frames=1",
    "/api/walk?frames=1000",
    "/api/walk?from=abc",
    "/api/" + "a" * 5000,
    "/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
]


@pytest.mark.parametrize("path", HOSTILE)
def test_hostile_requests_get_a_4xx_with_a_message(server, path):
    status, kind, body = _get(server, path)
    assert 400 <= status < 500, (path, status, body[:200])
    assert kind == "application/json" and json.loads(body)["error"]
    assert b"Traceback" not in body and b"root:" not in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "HEAD", "BREW"])
def test_other_methods_are_refused(server, method):
    status, _, _ = _get(server, "/api/grid", method=method)
    assert status == 405


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00\xff GARBAGE\r\n\r\n",
        b"GET /x HTTP/9.9\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: " + b"a" * 70000,
    ],
)
def test_a_malformed_request_gets_a_4xx_status_line(server, raw):
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=30) as s:
        s.sendall(raw + b"\r\n\r\n")
        head = s.recv(64)
    assert head.startswith(b"HTTP/1.1 4"), head


def test_many_parallel_requests_get_what_they_would_get_one_by_one(server):
    paths = [f"/api/grid?seed={i % 6}&count={1 + i % 3}&label={i % 10}" for i in range(24)]
    alone = {p: _get(server, p)[2] for p in set(paths)}
    with ThreadPoolExecutor(max_workers=12) as pool:
        together = list(pool.map(lambda p: _get(server, p), paths))
    assert all(status == 200 for status, _, _ in together)
    assert [body for _, _, body in together] == [alone[p] for p in paths]


def test_a_run_without_checkpoints_answers_409(story_run, tmp_path):
    run = tmp_path / "new"
    run.mkdir()
    shutil.copy(story_run / "config.json", run)
    srv = make_server(run, port=0)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        status, _, body = _get(srv, "/api/grid?seed=1")
        assert status == 409 and "no checkpoints yet" in json.loads(body)["error"]
        assert json.loads(_get(srv, "/api/info")[2])["default"] is None
    finally:
        srv.shutdown()
        srv.server_close()


@posix_only
def test_ctrl_c_stops_it_cleanly_and_a_busy_port_is_one_line(story_run):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ganforge", "serve", str(story_run), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # Started with SIGINT ignored, as a script's background job is: Ctrl-C must stop it all the same
        # (Python installs no KeyboardInterrupt handler then; serve installs its own).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        line = proc.stdout.readline()
        assert "at http://127.0.0.1:" in line and "only this machine" in line, line
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        busy = subprocess.run(
            [sys.executable, "-m", "ganforge", "serve", str(story_run), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (
            busy.returncode == 2 and busy.stderr.count("\n") == 1 and "choose another --port" in busy.stderr
        )
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "stopped" in out
    assert "Traceback" not in err, err


def test_serve_mistakes_are_one_line(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["serve", str(tmp_path), "--port", "70000"]) == 2
    assert "--port must be in 0..65535" in capsys.readouterr().err


def test_a_flood_is_turned_away_with_429_not_queued_without_end(server, monkeypatch):
    studio = server.studio
    monkeypatch.setattr(studio, "_queue", threading.BoundedSemaphore(2))
    with ThreadPoolExecutor(max_workers=6) as pool:
        studio._lock.acquire()  # a drawing in progress: requests queue behind it
        try:
            waiting = [pool.submit(_get, server, f"/api/grid?seed={i}&count=1") for i in range(6)]
            for _ in range(400):  # until four have been refused (two may wait)
                if sum(f.done() for f in waiting) >= 4:
                    break
                threading.Event().wait(0.05)
            refused = [f for f in waiting if f.done()]
        finally:
            studio._lock.release()
    assert len(refused) == 4 and all(f.result()[0] == 429 for f in refused)
    assert "busy" in json.loads(refused[0].result()[2])["error"]
    assert sorted(f.result()[0] for f in waiting) == [200, 200, 429, 429, 429, 429]


def test_a_stop_waits_for_the_request_being_answered(server):
    """Ctrl-C waits for answers in progress: a daemon thread left inside torch at exit aborted the process."""
    idle = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=60)
    try:
        idle.request("GET", "/api/info")  # a kept-alive connection, then idle: not an answer in progress
        assert idle.getresponse().read() and server.wait_for_answers(10)
        with ThreadPoolExecutor(max_workers=1) as pool:
            server.studio._lock.acquire()  # a drawing in progress: the next grid waits behind it
            try:
                drawing = pool.submit(_get, server, "/api/grid?seed=1&count=1")
                for _ in range(400):  # until its thread has started answering
                    if not server.wait_for_answers(0):
                        break
                    threading.Event().wait(0.05)
                assert not server.wait_for_answers(0.2)
            finally:
                server.studio._lock.release()
            assert server.wait_for_answers(60) and drawing.result()[0] == 200
    finally:
        idle.close()


class _DrawingAtStop:
    """A server stopped by Ctrl-C while it draws; a second Ctrl-C comes during the wait."""

    server_address = ("127.0.0.1", 7860)

    def serve_forever(self, poll_interval: float) -> None:
        raise KeyboardInterrupt

    def server_close(self) -> None:
        pass

    def wait_for_answers(self, timeout: float) -> bool:
        if timeout:
            raise KeyboardInterrupt
        return False


def test_a_second_ctrl_c_stops_without_waiting_and_restores_the_handlers(story_run, monkeypatch):
    monkeypatch.setattr(serve_module, "make_server", lambda *args: _DrawingAtStop())
    before = signal.getsignal(signal.SIGINT)
    said = []
    with pytest.raises(KeyboardInterrupt):  # the CLI turns it into "ganforge: interrupted", status 130
        serve_module.serve(story_run, say=said.append)
    assert said[1] == "stopped" and "Ctrl-C again stops at once" in said[2] and len(said) == 3
    assert signal.getsignal(signal.SIGINT) is before
