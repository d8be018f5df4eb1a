"""Report writer: robustness.{json,csv,md,png}, TensorBoard scalars, compare mode."""
from __future__ import annotations

import csv
import json
import math
import pathlib
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # Files only; never needs a display.
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mrc_jax.eval.metrics import STYLES  # noqa: E402
from mrc_jax.eval.results import CLEAN  # noqa: E402

CSV_COLUMNS = ("run", "task", "lang", "attack", "metric", "style", "value", "ci_low", "ci_high",
               "n")
# What each span style means, for the report's readers.
STYLE_NOTES = {"squad_v1": "SQuAD v1.1 evaluate-v1.1.py normalisation (official for SQuAD, "
                           "XQuAD, TyDiQA-GoldP)",
               "mlqa": "MLQA mlqa_evaluation_v1.py normalisation (official for MLQA)"}
# SQuAD v2.0 figures of evaluate-v2.0.py, shown after a span task's scores.
NO_ANSWER_METRICS = ("HasAns_exact", "HasAns_f1", "NoAns_exact", "NoAns_f1", "best_exact",
                     "best_exact_thresh", "best_f1", "best_f1_thresh")


def _json_safe(value):
    """NaN/inf to None: strict JSON has no NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: pathlib.Path, rows: Sequence[dict], info: dict) -> None:
    payload = dict(info, rows=[{k: _json_safe(v) for k, v in row.items()} for row in rows])
    path.write_text(json.dumps(payload, indent=1, ensure_ascii=False, default=_default))


def _default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pathlib.Path):
        return str(value)
    raise TypeError(f"report: cannot serialise {type(value).__name__} {value!r}")


def write_csv(path: pathlib.Path, rows: Sequence[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({column: row[column] for column in CSV_COLUMNS})


def _format(row: dict | None, digits: int = 1) -> str:
    if row is None or not math.isfinite(row["value"]):
        return "-"
    if not (math.isfinite(row["ci_low"]) and math.isfinite(row["ci_high"])):
        return f"{row['value']:.{digits}f}"
    return f"{row['value']:.{digits}f} [{row['ci_low']:.{digits}f}, {row['ci_high']:.{digits}f}]"


def _grid(rows: Sequence[dict], task: str, metric: str):
    """(languages, attacks, {(lang, attack): row}) of one task and metric; worst-case rows
    are listed apart."""
    cells = {(r["lang"], r["attack"]): r for r in rows
             if r["task"] == task and r["metric"] == metric
             and not r["lang"].startswith("worst(") and not r["attack"].startswith("worst(")}
    langs = sorted({lang for lang, _ in cells}, key=_order)
    attacks = sorted({attack for _, attack in cells}, key=_attack_order)
    return langs, attacks, cells


def _order(name: str):
    """Plain names first, then "mean"."""
    return (name == "mean", name)


def _attack_order(name: str):
    return (name != CLEAN, *_order(name))


def _primary_metric(rows: Sequence[dict], task: str) -> str:
    """The headline metric of a task (its rows may only hold derived `METRIC_...` names)."""
    names = {r["metric"] for r in rows if r["task"] == task}
    for metric in ("accuracy", "f1", "exact_match"):
        if any(name == metric or name.startswith(metric + "_") for name in names):
            return metric
    raise ValueError(f"report: task {task} has no accuracy/f1/exact_match rows: {sorted(names)}")


def markdown(rows: Sequence[dict], title: str, info: dict) -> str:
    """Readable tables: per task, language x attack for score, drop, flip rate."""
    lines = [f"# {title}", ""]
    for key in ("runs", "checkpoint_step", "num_resamples", "compilations", "examples",
                "eval_seconds", "examples_per_second", "device"):
        if key in info:
            lines.append(f"- {key}: {info[key]}")
    lines += ["", "Values in percent (drops and gaps in points) with 95% bootstrap intervals; "
              "`*_thresh` are no-answer score thresholds, not percent.", ""]
    styles = sorted({r.get("style", "") for r in rows} - {""})
    if styles:
        lines += [f"- span style {style}: {STYLE_NOTES[style]}" for style in styles] + [""]
    for task in sorted({r["task"] for r in rows}):
        primary = _primary_metric(rows, task)
        metrics = [primary, f"{primary}_drop", f"{primary}_flip_rate", f"{primary}_relative",
                   f"{primary}_gap_to_en", f"{primary}_diff", f"{primary}_drop_diff",
                   f"{primary}_diff_p"]
        if primary == "f1":
            metrics[1:1] = ["exact_match"]
            metrics += [f"{name}_{style}" for style in STYLES for name in ("f1", "exact_match")]
            metrics += list(NO_ANSWER_METRICS)
        for metric in metrics:
            langs, attacks, cells = _grid(rows, task, metric)
            if not cells:
                continue
            style = next(iter(cells.values())).get("style", "")
            lines += [f"## {task}: {metric}" + (f" ({style})" if style else ""), "",
                      "| lang | " + " | ".join(attacks) + " |",
                      "|---|" + "---|" * len(attacks)]
            digits = 3 if metric.endswith(("_p", "_thresh")) else 1
            for lang in langs:
                lines.append(f"| {lang} | " + " | ".join(
                    _format(cells.get((lang, attack)), digits) for attack in attacks) + " |")
            lines.append("")
        worst = [r for r in rows if r["task"] == task and
                 (r["lang"].startswith("worst(") or r["attack"].startswith("worst("))]
        if worst:
            lines += [f"## {task}: worst cases (largest drop)", "",
                      "| lang | attack | metric | value |", "|---|---|---|---|"]
            lines += [f"| {r['lang']} | {r['attack']} | {r['metric']} | {_format(r)} |"
                      for r in sorted(worst, key=lambda r: (r["metric"], r["lang"], r["attack"]))]
            lines.append("")
    return "\n".join(lines)


def plot_heatmaps(path: pathlib.Path, rows: Sequence[dict], metrics_suffixes=("", "_drop"),
                  title: str = "") -> None:
    """One heatmap (language x attack) per task and metric; NaN cells are blank."""
    tasks = sorted({r["task"] for r in rows})
    panels = []
    for task in tasks:
        primary = _primary_metric(rows, task)
        for suffix in metrics_suffixes:
            langs, attacks, cells = _grid(rows, task, primary + suffix)
            if cells and langs and attacks:
                panels.append((task, primary + suffix, langs, attacks, cells))
    if not panels:
        raise ValueError(f"report: nothing to plot in {path} (no rows for {metrics_suffixes})")
    figure, axes = plt.subplots(1, len(panels), squeeze=False,
                                figsize=(max(4.0, 1.1 * max(len(p[3]) for p in panels) + 2) * len(panels),
                                         1 + 0.5 * max(len(p[2]) for p in panels) + 1))
    for axis, (task, metric, langs, attacks, cells) in zip(axes[0], panels):
        grid = np.full((len(langs), len(attacks)), np.nan)  # [langs, attacks]
        for i, lang in enumerate(langs):
            for j, attack in enumerate(attacks):
                if (lang, attack) in cells:
                    grid[i, j] = cells[lang, attack]["value"]
        diverging = "drop" in metric or "diff" in metric or "gap" in metric
        limit = np.nanmax(np.abs(grid)) if np.isfinite(grid).any() else 1.0
        # Scores on a fixed 0-100 scale so runs are comparable; differences centred on 0.
        image = axis.imshow(grid, cmap="RdBu_r" if diverging else "viridis", aspect="auto",
                            vmin=-limit if diverging else 0.0, vmax=limit if diverging else 100.0)
        axis.set_xticks(range(len(attacks)), attacks, rotation=45, ha="right")
        axis.set_yticks(range(len(langs)), langs)
        axis.set_title(f"{task}: {metric}")
        for i in range(len(langs)):
            for j in range(len(attacks)):
                if np.isfinite(grid[i, j]):
                    axis.text(j, i, f"{grid[i, j]:.1f}", ha="center", va="center", fontsize=8)
        figure.colorbar(image, ax=axis)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_tensorboard(logdir: pathlib.Path, rows: Sequence[dict], step: int) -> None:
    """Every finite value as a scalar `robustness/TASK/LANG/ATTACK/METRIC` at `step`."""
    from clu import metric_writers  # Imported here: pulls in TensorFlow's summary writer.

    writer = metric_writers.create_default_writer(str(logdir), just_logging=False)
    scalars = {f"robustness/{r['task']}/{r['lang']}/{r['attack']}/{r['metric']}": r["value"]
               for r in rows if math.isfinite(r["value"])}
    writer.write_scalars(step, scalars)
    writer.flush()
    writer.close()


def write_report(out_dir: str | pathlib.Path, rows: Sequence[dict], info: dict,
                 step: int = 0, basename: str = "robustness", tensorboard: bool = True,
                 plot_suffixes=("", "_drop")) -> dict[str, pathlib.Path]:
    """Write BASENAME.{json,csv,md,png} (and TensorBoard scalars) into `out_dir`."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {suffix: out_dir / f"{basename}.{suffix}" for suffix in ("json", "csv", "md", "png")}
    write_json(paths["json"], rows, info)
    write_csv(paths["csv"], rows)
    paths["md"].write_text(markdown(rows, info.get("title", basename), info))
    plot_heatmaps(paths["png"], rows, plot_suffixes, info.get("title", ""))
    if tensorboard:
        write_tensorboard(out_dir / "tensorboard", rows, step)
        paths["tensorboard"] = out_dir / "tensorboard"
    return paths


def write_comparison(out_dir: str | pathlib.Path, rows: Sequence[dict], info: dict,
                     step: int = 0) -> dict[str, pathlib.Path]:
    """Compare mode: comparison.{json,csv,md,png}; the plot shows score and drop differences."""
    return write_report(out_dir, rows, dict(info, title=info.get("title", "comparison")), step,
                        basename="comparison", tensorboard=False,
                        plot_suffixes=("_diff", "_drop_diff"))
