"""The report's HTML: one self-contained page built from a :class:`~ganforge.report.story.RunStory`.

Pictures are inlined as data URIs and charts as SVG; a Content-Security-Policy forbids every request
(scripts, fonts, styles or images from anywhere but the page itself), so the file shows the same
from a USB stick with no network, and a run's text (config values, messages) is always escaped.
"""

from __future__ import annotations

import base64
import io
import json
import math
from datetime import datetime, timezone
from html import escape
from typing import Any

import numpy as np
from PIL import Image

from ganforge.report.story import RunStory
from ganforge.report.svg import Marker, Series, line_chart
from ganforge.sampling import caption
from ganforge.train.plots import smooth
from ganforge.version import __version__

STRIP_HEIGHT = 150  # px of each grid in the strip
GIF_WIDTH = 400  # px: the GIF is for watching, not for inspecting pixels
_BEST = ' class="best"'
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1100px;
padding:0 18px 40px;color:#222}
h1{font-size:22px;margin:18px 0 4px}
h2{font-size:17px;border-bottom:1px solid #ddd;padding-bottom:3px;margin-top:28px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f4f4f4}.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-size:12px;color:#fff}
.running{background:#1f77b4}.finished{background:#2ca02c}.stopped{background:#7f7f7f}
.problems{background:#fff4e5;border:1px solid #f0b35b;padding:6px 14px}
.strip{display:flex;gap:8px;overflow-x:auto;padding-bottom:6px}.strip figure{margin:0;flex:none}
figcaption{font-size:12px;color:#555;text-align:center}img.px{image-rendering:pixelated}
pre{background:#f7f7f7;padding:8px;overflow-x:auto;font-size:12px}.best{font-weight:bold}
.warning td:first-child{border-left:4px solid #d9a400}.restart td:first-child{border-left:4px solid #d62728}
nav a{margin-right:10px}
"""
_SECTIONS = (
    ("summary", "Summary"),
    ("samples", "Samples"),
    ("training", "Training curves"),
    ("quality", "Quality"),
    ("events", "Events"),
    ("checkpoints", "Checkpoints"),
    ("config", "Config"),
)


def render(story: RunStory) -> str:
    """The whole report as one HTML document."""
    body = [
        _header(story),
        _problems(story),
        _summary(story),
        _samples(story),
        _training(story),
        _quality(story),
        _events(story),
        _checkpoints(story),
        _config(story),
        f"<footer><p>Written by ganforge {escape(__version__)} at "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC} from {escape(str(story.run_dir))}.</p></footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
        f"<title>ganforge report: {escape(story.run_dir.name)}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def _header(story: RunStory) -> str:
    if story.training_pid is not None:
        who = f" (pid {story.training_pid})" if story.training_pid > 0 else ""
        status = f'<span class="badge running">training now{who}: this report shows what exists so far</span>'
    elif story.final is not None:
        status = '<span class="badge finished">finished</span>'
    else:
        status = '<span class="badge stopped">stopped before the end of its budget (resumable)</span>'
    links = "".join(f'<a href="#{key}">{title}</a>' for key, title in _SECTIONS)
    return f"<h1>ganforge run: {escape(story.run_dir.name)}</h1><p>{status}</p><nav>{links}</nav>"


def _problems(story: RunStory) -> str:
    if not story.problems:
        return ""
    items = "".join(f"<li>{escape(p)}</li>" for p in story.problems)
    return f'<section id="problems" class="problems"><b>Missing or damaged:</b><ul>{items}</ul></section>'


def _summary(story: RunStory) -> str:
    cfg = story.config or {}
    data, model, train = (
        cfg.get(k) if isinstance(cfg.get(k), dict) else {} for k in ("data", "model", "train")
    )
    losses = story.losses()
    last = losses[-1] if losses else {}
    rows = [
        ("preset", cfg.get("preset")),
        ("data", _data_text(data)),
        ("model", _model_text(model)),
        ("batch size", train.get("batch_size")),
        ("loss", train.get("loss")),
        ("augmentation", train.get("augment") or "off"),
        ("budget", _budget_text(train)),
        ("precision", train.get("precision")),
        ("last step", story.last_step()),
        ("training time", _minutes(last.get("wall_time"))),
        (
            "speed",
            f"{last['images_per_sec']:.0f} images/s (last log line)" if "images_per_sec" in last else None,
        ),
    ]
    return _section("summary", "Summary", _table([(k, v if v is not None else "unknown") for k, v in rows]))


def _data_text(data: dict[str, Any]) -> str | None:
    if not data:
        return None
    where = data.get("data_dir") or data.get("source")
    return f"{where} ({data.get('split')}), {data.get('image_size')} px, {data.get('channels')} channel(s)"


def _model_text(model: dict[str, Any]) -> str | None:
    if not model:
        return None
    cond = f", conditional on {model.get('num_classes')} classes" if model.get("conditional") else ""
    return f"{model.get('name')}, latent {model.get('latent_dim')}, width {model.get('width')}{cond}"


def _budget_text(train: dict[str, Any]) -> str | None:
    parts = [f"{train[k]} {k}" for k in ("steps", "epochs", "minutes") if train.get(k) is not None]
    return ", ".join(parts) or None


def _minutes(seconds: Any) -> str | None:
    return f"{seconds / 60:.1f} min" if isinstance(seconds, (int, float)) and math.isfinite(seconds) else None


def _samples(story: RunStory) -> str:
    parts = []
    shown = story.final or (story.grids[-1] if story.grids else None)
    if shown is not None:
        what = (
            "Final samples (EMA generator, noise seed 0)" if story.final else f"Newest grid ({shown.label})"
        )
        parts.append(_figure(shown.image, what, width=min(512, max(shown.image.width, 256))))
    if story.grids:
        note = (
            f" ({len(story.grids)} of {story.grid_count} shown)"
            if story.grid_count > len(story.grids)
            else ""
        )
        parts.append(f"<h3>The fixed-noise grid over training{note}</h3>")
        strip = "".join(_figure(p.image, p.label, height=STRIP_HEIGHT) for p in story.grids)
        parts.append(f'<div class="strip">{strip}</div>')
        parts.append("<h3>As an animation</h3>" + _gif(story))
    if not parts:
        parts.append("<p>No sample grids yet: the first is written after the first sampling interval.</p>")
    return _section("samples", "Samples", "".join(parts))


def _figure(image: Image.Image, label: str, width: int | None = None, height: int | None = None) -> str:
    size = f' width="{width}"' if width else f' height="{height}"'
    pixel = ' class="px"' if (width or height or 0) > max(image.size) else ""
    return (
        f'<figure><img{pixel}{size} alt="{escape(label)}" src="{_data_uri(image, "PNG")}">'
        f"<figcaption>{escape(label)}</figcaption></figure>"
    )


def _gif(story: RunStory) -> str:
    frames = []
    for p in story.grids:
        image = p.image
        if image.width > GIF_WIDTH:
            image = image.resize(
                (GIF_WIDTH, round(image.height * GIF_WIDTH / image.width)), Image.Resampling.LANCZOS
            )
        frames.append(caption(image, p.label))
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=500, loop=0)
    uri = "data:image/gif;base64," + base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="grids over training, animated" src="{uri}">'


def _training(story: RunStory) -> str:
    rows = story.losses()
    markers = _markers(story)
    charts = [
        line_chart("Losses", _curves(rows, {"d_loss": "D loss", "g_loss": "G loss"}), markers, "loss"),
        line_chart(
            "Mean D outputs", _curves(rows, {"d_real": "D(x)", "d_fake": "D(G(z))"}), markers, "D output"
        ),
    ]
    if any("augment_p" in r for r in rows):  # --augment-p auto: how hard D's images were augmented
        strength = _curves(rows, {"augment_p": "p"})
        charts.append(line_chart("Augmentation strength p", strength, markers, "probability"))
    note = (
        "<p>Each point is a log line (the mean over its steps), smoothed as TensorBoard does. "
        "Dashed lines: warnings (yellow) and divergence restarts (red), listed under Events.</p>"
    )
    return _section("training", "Training curves", note + "".join(charts))


def _curves(rows: list[dict[str, Any]], keys: dict[str, str]) -> list[Series]:
    out = []
    for key, name in keys.items():
        points = [(r["step"], r[key]) for r in rows if isinstance(r.get(key), (int, float))]
        if points:
            values = (
                smooth(np.array([y for _, y in points], dtype=np.float64))
                if len(points) > 2
                else [y for _, y in points]
            )
            out.append(Series(name, [(x, float(v)) for (x, _), v in zip(points, values, strict=True)]))
    return out


def _markers(story: RunStory) -> list[Marker]:
    out = []
    for r in story.events():
        if isinstance(r.get("step"), (int, float)):
            out.append(Marker(r["step"], str(r.get("message", r.get("warning") or r.get("event"))), _kind(r)))
    return out


def _kind(record: dict[str, Any]) -> str:
    """warning, restart (a divergence recovery) or event: picks the colour on charts and in the table."""
    return "warning" if "warning" in record else "restart" if record.get("event") == "restart" else "event"


def _quality(story: RunStory) -> str:
    records = story.quality()
    if not records:
        return _section(
            "quality",
            "Quality",
            "<p>No quality measured yet: train with <code>--eval-every N</code> or run "
            f"<code>ganforge eval {escape(str(story.run_dir))}</code>.</p>",
        )
    during = [r for r in records if r["source"] == "during training"]
    charts = [line_chart(t, s, y_label=label, log_y=log) for t, s, label, log in _quality_series(during)]
    evals = [r for r in records if r["source"] != "during training"]
    parts = [*charts, _eval_table(evals) if evals else ""]
    last = records[-1]
    parts.append(f"<h3>Latest: step {escape(str(last['step']))}, {escape(last['source'])}</h3>")
    parts.append(
        _table([(k, _value(v)) for k, v in last["metrics"].items() if not isinstance(v, (list, dict))])
    )
    provenance = last.get("provenance")
    parts.append("<h3>Provenance</h3>")
    parts.append(
        _table([(k, _value(v)) for k, v in provenance.items()])
        if isinstance(provenance, dict)
        else "<p>Not recorded with this measurement (written by an earlier ganforge).</p>"
    )
    return _section("quality", "Quality", "".join(parts))


def _quality_series(records: list[dict[str, Any]]) -> list[tuple[str, list[Series], str, bool]]:
    """Charts of quality measured while training: each Fréchet distance, SWD, classes covered."""
    keys = sorted({k for r in records for k in r["metrics"] if k.startswith("FD-") or k == "SWD"})
    out = []
    for key in keys:
        points = [
            (r["step"], r["metrics"][key]) for r in records if isinstance(r["metrics"].get(key), (int, float))
        ]
        out.append((f"{key} while training", [Series(key, points)], "distance (lower is better)", True))
    covered = [
        (r["step"], r["metrics"]["classes_covered"]) for r in records if "classes_covered" in r["metrics"]
    ]
    if covered:
        out.append(("Classes covered", [Series("classes covered", covered)], "classes", False))
    return out


def _eval_table(records: list[dict[str, Any]]) -> str:
    """One row per ``ganforge eval`` of this run: step, settings that change the number, headline metrics."""
    keys = [k for k in ("FD-", "SWD", "precision", "recall", "classes_covered")]
    rows = []
    for r in records:
        metrics, prov = r["metrics"], r.get("provenance") or {}
        chosen = [k for k in metrics if any(k == p or (p.endswith("-") and k.startswith(p)) for p in keys)]
        chosen = [k for k in chosen if not k.startswith("FD-") or "-std" not in k]
        cells = ", ".join(f"{k} {_value(metrics[k])}" for k in chosen)
        setting = ", ".join(f"{k} {prov[k]}" for k in ("n_generated", "truncation", "reference") if k in prov)
        rows.append((f"step {r['step']}", f"{cells} ({setting})" if setting else cells))
    return "<h3>Evaluations (ganforge eval)</h3>" + _table(rows)


def _events(story: RunStory) -> str:
    events = story.events()
    if not events:
        return _section("events", "Events", "<p>No warnings and no divergence restarts.</p>")
    rows = "".join(
        f'<tr class="{_kind(r)}">'
        f'<td class="num">{escape(str(r.get("step")))}</td>'
        f"<td>{escape(str(r.get('warning') or r.get('event')))}</td>"
        f"<td>{escape(str(r.get('message', '')))}</td></tr>"
        for r in events
    )
    return _section(
        "events", "Events", f"<table><tr><th>step</th><th>kind</th><th>message</th></tr>{rows}</table>"
    )


def _checkpoints(story: RunStory) -> str:
    if not story.checkpoints:
        return _section("checkpoints", "Checkpoints", "<p>No checkpoints yet.</p>")
    rows = "".join(
        f"<tr{_BEST if c.best else ''}><td>{escape(c.name)}</td>"
        f'<td class="num">{c.step if c.step is not None else "?"}</td>'
        f'<td class="num">{c.size / 1e6:.1f} MB</td>'
        f"<td>{'best quality so far (lowest FD during training)' if c.best else ''}</td></tr>"
        for c in story.checkpoints
    )
    head = "<tr><th>file</th><th>step</th><th>size</th><th></th></tr>"
    return _section("checkpoints", "Checkpoints", f"<table>{head}{rows}</table>")


def _config(story: RunStory) -> str:
    if story.config is None:
        return _section("config", "Config", "<p>config.json is missing or damaged (see above).</p>")
    text = escape(json.dumps(story.config, indent=2))
    return _section("config", "Config", f"<details><summary>config.json</summary><pre>{text}</pre></details>")


def _section(key: str, title: str, body: str) -> str:
    return f'<section id="{key}"><h2>{title}</h2>{body}</section>'


def _table(rows: list[tuple[str, Any]]) -> str:
    cells = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def _value(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _data_uri(image: Image.Image, fmt: str) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, optimize=True)
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buffer.getvalue()).decode()
