"""Report writer: robustness.{json,csv,md,png}, TensorBoard scalars, compare mode."""

from __future__ import annotations

import csv
import dataclasses
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

CSV_COLUMNS = (
  "run",
  "task",
  "lang",
  "attack",
  "metric",
  "style",
  "value",
  "ci_low",
  "ci_high",
  "n",
)
# What each span style means, for the report's readers.
STYLE_NOTES = {
  "squad_v1": "SQuAD v1.1 evaluate-v1.1.py normalisation (official for SQuAD, XQuAD, TyDiQA-GoldP)",
  "mlqa": "MLQA mlqa_evaluation_v1.py normalisation (official for MLQA)",
}
# SQuAD v2.0 figures of evaluate-v2.0.py, shown after a span task's scores.
NO_ANSWER_METRICS = (
  "HasAns_exact",
  "HasAns_f1",
  "NoAns_exact",
  "NoAns_f1",
  "best_exact",
  "best_exact_thresh",
  "best_f1",
  "best_f1_thresh",
)


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


def format_row(row: dict | None, digits: int = 1) -> str:
  if row is None or not math.isfinite(row["value"]):
    return "-"
  if not (math.isfinite(row["ci_low"]) and math.isfinite(row["ci_high"])):
    return f"{row['value']:.{digits}f}"
  return f"{row['value']:.{digits}f} [{row['ci_low']:.{digits}f}, {row['ci_high']:.{digits}f}]"


def metric_grid(rows: Sequence[dict], task: str, metric: str):
  """(languages, attacks, {(lang, attack): row}) of one task and metric; worst-case rows
  are listed apart."""
  cells = {
    (r["lang"], r["attack"]): r
    for r in rows
    if r["task"] == task
    and r["metric"] == metric
    and not r["lang"].startswith("worst(")
    and not r["attack"].startswith("worst(")
  }
  langs = sorted({lang for lang, _ in cells}, key=_order)
  attacks = sorted({attack for _, attack in cells}, key=_attack_order)
  return langs, attacks, cells


def _order(name: str):
  """Plain names first, then "mean"."""
  return (name == "mean", name)


def _attack_order(name: str):
  return (name != CLEAN, *_order(name))


def primary_metric(rows: Sequence[dict], task: str) -> str:
  """The headline metric of a task (its rows may only hold derived `METRIC_...` names)."""
  names = {r["metric"] for r in rows if r["task"] == task}
  for metric in ("accuracy", "f1", "exact_match"):
    if any(name == metric or name.startswith(metric + "_") for name in names):
      return metric
  raise ValueError(f"report: task {task} has no accuracy/f1/exact_match rows: {sorted(names)}")


def markdown(rows: Sequence[dict], title: str, info: dict) -> str:
  """Readable tables: per task, language x attack for score, drop, flip rate."""
  lines = [f"# {title}", ""]
  for key in (
    "runs",
    "checkpoint_step",
    "num_resamples",
    "compilations",
    "examples",
    "eval_seconds",
    "examples_per_second",
    "device",
  ):
    if key in info:
      lines.append(f"- {key}: {info[key]}")
  lines += [
    "",
    "Values in percent (drops and gaps in points) with 95% bootstrap intervals; "
    "`*_thresh` are no-answer score thresholds, not percent.",
    "",
  ]
  styles = sorted({r.get("style", "") for r in rows} - {""})
  if styles:
    lines += [f"- span style {style}: {STYLE_NOTES[style]}" for style in styles] + [""]
  for task in sorted({r["task"] for r in rows}):
    primary = primary_metric(rows, task)
    metrics = [
      primary,
      f"{primary}_drop",
      f"{primary}_flip_rate",
      f"{primary}_relative",
      f"{primary}_gap_to_en",
      f"{primary}_diff",
      f"{primary}_drop_diff",
      f"{primary}_diff_p",
    ]
    if primary == "f1":
      metrics[1:1] = ["exact_match"]
      metrics += [f"{name}_{style}" for style in STYLES for name in ("f1", "exact_match")]
      metrics += list(NO_ANSWER_METRICS)
    for metric in metrics:
      langs, attacks, cells = metric_grid(rows, task, metric)
      if not cells:
        continue
      style = next(iter(cells.values())).get("style", "")
      lines += [
        f"## {task}: {metric}" + (f" ({style})" if style else ""),
        "",
        "| lang | " + " | ".join(attacks) + " |",
        "|---|" + "---|" * len(attacks),
      ]
      digits = 3 if metric.endswith(("_p", "_thresh")) else 1
      for lang in langs:
        lines.append(
          f"| {lang} | "
          + " | ".join(format_row(cells.get((lang, attack)), digits) for attack in attacks)
          + " |"
        )
      lines.append("")
    worst = [
      r
      for r in rows
      if r["task"] == task and (r["lang"].startswith("worst(") or r["attack"].startswith("worst("))
    ]
    if worst:
      lines += [
        f"## {task}: worst cases (largest drop)",
        "",
        "| lang | attack | metric | value |",
        "|---|---|---|---|",
      ]
      lines += [
        f"| {r['lang']} | {r['attack']} | {r['metric']} | {format_row(r)} |"
        for r in sorted(worst, key=lambda r: (r["metric"], r["lang"], r["attack"]))
      ]
      lines.append("")
  return "\n".join(lines)


# Heatmap layout, in inches at PLOT_DPI: each panel is sized by its grid, and panels wrap
# into rows so a figure never exceeds MAX_PLOT_WIDTH pixels (it grows in height instead).
PLOT_DPI = 100
MAX_PLOT_WIDTH = 2000
CELL_WIDTH, CELL_HEIGHT = 0.44, 0.3
PANEL_LEFT, PANEL_RIGHT, PANEL_TOP, PANEL_BOTTOM = 0.75, 0.7, 0.4, 1.05
SUPTITLE_HEIGHT = 0.6
SIGNIFICANCE = 0.05
COLORBAR_PAD, COLORBAR_WIDTH = 0.08, 0.12


@dataclasses.dataclass
class Panel:
  """One heatmap: `values` [langs, attacks] (NaN cells blank), `marked` cells drawn bold
  with an asterisk."""

  title: str
  langs: list[str]
  attacks: list[str]
  values: np.ndarray
  diverging: bool
  marked: frozenset = frozenset()


def significant_cells(rows: Sequence[dict], task: str, metric: str) -> tuple[frozenset, str]:
  """(significant (lang, attack) cells, the rule that says so) of a difference metric.

  A difference with `METRIC_p` rows (comparison_rows' `m_diff_p`) is significant where
  p < 0.05; one without p-values (`m_drop_diff`) where its 95% interval excludes 0.
  Other metrics get no marks and no rule.
  """
  if not metric.endswith("_diff"):
    return frozenset(), ""
  _, _, p_values = metric_grid(rows, task, metric + "_p")
  if p_values:
    return (
      frozenset(key for key, row in p_values.items() if row["value"] < SIGNIFICANCE),
      f"* p < {SIGNIFICANCE}",
    )
  _, _, cells = metric_grid(rows, task, metric)
  return (
    frozenset(key for key, row in cells.items() if row["ci_low"] > 0 or row["ci_high"] < 0),
    "* 95% CI excludes 0",
  )


def heatmap_panel(
  rows: Sequence[dict], task: str, metric: str, title: str | None = None
) -> Panel | None:
  """The language x attack panel of one task and metric; None when it has no cells."""
  langs, attacks, cells = metric_grid(rows, task, metric)
  if not cells:
    return None
  values = np.full((len(langs), len(attacks)), np.nan)  # [langs, attacks]
  for i, lang in enumerate(langs):
    for j, attack in enumerate(attacks):
      if (lang, attack) in cells:
        values[i, j] = cells[lang, attack]["value"]
  marked, rule = significant_cells(rows, task, metric)
  title = title or f"{task}: {metric}"
  return Panel(
    title + (f" ({rule})" if rule else ""),
    langs,
    attacks,
    values,
    diverging=any(word in metric for word in ("drop", "diff", "gap")),
    marked=marked,
  )


def panel_layout(groups: Sequence[Sequence[Panel]], max_width: int = MAX_PLOT_WIDTH):
  """(figure rows of panels, columns, panel width, row heights), sizes in inches.

  Each group starts a new figure row and wraps after as many panels as fit in
  `max_width` pixels; a panel wider than the whole figure is squeezed to fit.
  """
  panels = [panel for group in groups for panel in group]
  width = max_width / PLOT_DPI
  panel_width = min(
    width, PANEL_LEFT + PANEL_RIGHT + CELL_WIDTH * max(len(p.attacks) for p in panels)
  )
  columns = max(1, min(max(len(group) for group in groups), int(width // panel_width)))
  figure_rows = [
    list(group[i : i + columns]) for group in groups if group for i in range(0, len(group), columns)
  ]
  heights = [
    PANEL_TOP + PANEL_BOTTOM + CELL_HEIGHT * max(len(p.langs) for p in row) for row in figure_rows
  ]
  return figure_rows, columns, panel_width, heights


def plot_height(groups: Sequence[Sequence[Panel]], max_width: int = MAX_PLOT_WIDTH) -> int:
  """Pixel height of the figure `plot_panels` draws for `groups`."""
  *_, heights = panel_layout(groups, max_width)
  return round((sum(heights) + SUPTITLE_HEIGHT) * PLOT_DPI)


def plot_panels(
  path: pathlib.Path,
  groups: Sequence[Sequence[Panel]],
  title: str = "",
  max_width: int = MAX_PLOT_WIDTH,
) -> None:
  """Draws `groups` of panels (each group from a new row) into one PNG at PLOT_DPI; the
  differences (drops, gaps) of a group share one colour scale, so its panels compare."""
  groups = [group for group in groups if group]
  if not groups:
    raise ValueError(f"report: nothing to plot in {path}")
  limits = {}
  for group in groups:
    values = [p.values[np.isfinite(p.values)] for p in group if p.diverging]
    largest = max((np.abs(v).max() for v in values if v.size), default=0.0)
    limits.update({id(panel): float(largest) or 1.0 for panel in group})
  figure_rows, columns, panel_width, heights = panel_layout(groups, max_width)
  figure_width = columns * panel_width
  figure_height = sum(heights) + SUPTITLE_HEIGHT
  figure = plt.figure(figsize=(figure_width, figure_height))
  # Axes placed by hand (fixed margins in inches): tight_layout is slow and uneven on
  # figures of dozens of panels.
  top = figure_height - SUPTITLE_HEIGHT
  for row, height in zip(figure_rows, heights):
    top -= height
    for column, panel in enumerate(row):
      left = column * panel_width + PANEL_LEFT
      width = panel_width - PANEL_LEFT - PANEL_RIGHT
      bottom = (top + PANEL_BOTTOM) / figure_height
      box_height = (height - PANEL_TOP - PANEL_BOTTOM) / figure_height
      axis = figure.add_axes((left / figure_width, bottom, width / figure_width, box_height))
      colorbar_axis = figure.add_axes(
        (
          (left + width + COLORBAR_PAD) / figure_width,
          bottom,
          COLORBAR_WIDTH / figure_width,
          box_height,
        )
      )
      draw_panel(figure, axis, colorbar_axis, panel, limits[id(panel)])
  if title:
    figure.suptitle(title, y=1 - 0.25 / figure_height, fontsize=12)
  figure.savefig(path, dpi=PLOT_DPI)
  plt.close(figure)


def draw_panel(figure, axis, colorbar_axis, panel: Panel, limit: float) -> None:
  """One heatmap with its values written in the cells and a colorbar; a diverging panel
  spans [-limit, limit]."""
  values = panel.values
  # Scores on a fixed 0-100 scale so runs are comparable; differences centred on 0.
  image = axis.imshow(
    values,
    cmap="RdBu_r" if panel.diverging else "viridis",
    aspect="auto",
    vmin=-limit if panel.diverging else 0.0,
    vmax=limit if panel.diverging else 100.0,
  )
  axis.set_xticks(range(len(panel.attacks)), panel.attacks, rotation=45, ha="right", fontsize=8)
  axis.set_yticks(range(len(panel.langs)), panel.langs, fontsize=8)
  axis.set_title(panel.title, fontsize=9)
  for i, lang in enumerate(panel.langs):
    for j, attack in enumerate(panel.attacks):
      if np.isfinite(values[i, j]):
        marked = (lang, attack) in panel.marked
        red, green, blue, _ = image.cmap(image.norm(values[i, j]))
        dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
        axis.text(
          j,
          i,
          f"{values[i, j]:.1f}" + ("*" if marked else ""),
          ha="center",
          va="center",
          fontsize=7,
          color="white" if dark else "black",
          fontweight="bold" if marked else "normal",
        )
  figure.colorbar(image, cax=colorbar_axis).ax.tick_params(labelsize=7)


def plot_heatmaps(
  path: pathlib.Path, rows: Sequence[dict], metrics_suffixes=("", "_drop"), title: str = ""
) -> None:
  """One heatmap (language x attack) per task and metric, a figure row per task."""
  groups = []
  for task in sorted({r["task"] for r in rows}):
    primary = primary_metric(rows, task)
    panels = [heatmap_panel(rows, task, primary + suffix) for suffix in metrics_suffixes]
    groups.append([panel for panel in panels if panel is not None])
  if not any(groups):
    raise ValueError(f"report: nothing to plot in {path} (no rows for {metrics_suffixes})")
  plot_panels(path, groups, title)


def write_tensorboard(logdir: pathlib.Path, rows: Sequence[dict], step: int) -> None:
  """Every finite value as a scalar `robustness/TASK/LANG/ATTACK/METRIC` at `step`."""
  from clu import metric_writers  # Imported here: pulls in TensorFlow's summary writer.

  writer = metric_writers.create_default_writer(str(logdir), just_logging=False)
  scalars = {
    f"robustness/{r['task']}/{r['lang']}/{r['attack']}/{r['metric']}": r["value"]
    for r in rows
    if math.isfinite(r["value"])
  }
  writer.write_scalars(step, scalars)
  writer.flush()
  writer.close()


def write_scalars(
  out_dir: str | pathlib.Path, scalars: dict[str, float], step: int
) -> dict[str, pathlib.Path]:
  """The scalars of the non-robustness evaluators (`eval/NAME/TASK/accuracy`, ...) as
  scalars.json, a scalars.md table, and TensorBoard scalars under tensorboard/."""
  from clu import metric_writers  # Imported here: pulls in TensorFlow's summary writer.

  out_dir = pathlib.Path(out_dir)
  paths = {"scalars_json": out_dir / "scalars.json", "scalars_md": out_dir / "scalars.md"}
  paths["scalars_json"].write_text(
    json.dumps({"checkpoint_step": step, "scalars": scalars}, indent=2, sort_keys=True)
  )
  lines = [f"# Evaluation scalars (step {step})", "", "| scalar | value |", "|---|---|"]
  lines += [f"| {name} | {value:.4f} |" for name, value in sorted(scalars.items())]
  paths["scalars_md"].write_text("\n".join(lines) + "\n")
  writer = metric_writers.create_default_writer(str(out_dir / "tensorboard"), just_logging=False)
  writer.write_scalars(step, scalars)
  writer.flush()
  writer.close()
  return paths


def write_report(
  out_dir: str | pathlib.Path,
  rows: Sequence[dict],
  info: dict,
  step: int = 0,
  basename: str = "robustness",
  tensorboard: bool = True,
  plot_suffixes=("", "_drop"),
) -> dict[str, pathlib.Path]:
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


def write_comparison(
  out_dir: str | pathlib.Path, rows: Sequence[dict], info: dict, step: int = 0
) -> dict[str, pathlib.Path]:
  """Compare mode: comparison.{json,csv,md,png}; the plot shows score and drop differences."""
  return write_report(
    out_dir,
    rows,
    dict(info, title=info.get("title", "comparison")),
    step,
    basename="comparison",
    tensorboard=False,
    plot_suffixes=("_diff", "_drop_diff"),
  )
