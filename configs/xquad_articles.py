"""XQuAD split by article: ``xquad_articles_A_B.LANG`` holds the questions of articles A..B-1.

XQuAD (1,190 questions on 48 Wikipedia articles, parallel across languages) ships only a
test split. A fine-tuning run that fits a laptop trains on some English articles and
evaluates on the others in every language, so no question seen in training (in any
language) is evaluated. Articles are numbered in file order. A helper of the configs (not
a config): :func:`register` adds the tasks to the data catalog of the process that loads
the config, read through ``load_examples`` like any other task.
"""

from __future__ import annotations

from mrc_jax.data import catalog, load_examples

NUM_ARTICLES = 48


def task_name(first: int, stop: int, lang: str) -> str:
  return f"xquad_articles_{first}_{stop}.{lang}"


def article_examples(lang: str, first: int, stop: int, data_dir: str, *, name: str) -> list[dict]:
  """The questions of articles ``first..stop-1`` of ``xquad.LANG`` (file order)."""
  titles: list[str] = []
  chosen = []
  for example in load_examples(f"xquad.{lang}", "test", data_dir):
    title = example["meta"]["title"]
    if not titles or titles[-1] != title:
      if title in titles:
        raise ValueError(f"xquad.{lang}: article {title!r} is not contiguous in the file")
      titles.append(title)
    if first <= len(titles) - 1 < stop:
      chosen.append(
        {**example, "task": name, "meta": {**example["meta"], "article": len(titles) - 1}}
      )
  if len(titles) != NUM_ARTICLES:
    raise ValueError(f"xquad.{lang}: expected {NUM_ARTICLES} articles, found {len(titles)}")
  return chosen


def register(first: int, stop: int, langs) -> tuple[str, ...]:
  """Registers ``xquad_articles_FIRST_STOP.LANG`` for each language; returns the names."""
  if not 0 <= first < stop <= NUM_ARTICLES:
    raise ValueError(f"article range {first}..{stop} is not within 0..{NUM_ARTICLES}")
  names = []
  for lang in langs:
    base = catalog.get_clean_task(f"xquad.{lang}")
    name = task_name(first, stop, lang)

    def read_split(data_dir, split, strict, report, lang=lang, name=name):
      del split, strict, report  # the test file is strict-read by load_examples
      yield from article_examples(lang, first, stop, data_dir, name=name)

    # Served under every split name, so training ("train") and evaluation ("test") read
    # the same articles. Registering a name again is a no-op.
    catalog.register_derived(
      catalog.CleanTask(
        name=name,
        dataset=f"xquad_articles_{first}_{stop}",
        lang=lang,
        kind="span",
        files={s: base.files["test"] for s in ("train", "test")},
        source=base.source,
        read_split=read_split,
      )
    )
    names.append(name)
  return tuple(names)
