"""Writes the keyboard layouts typo attacks read, from the X keyboard database.

    python launch/make_keyboards.py                 # rewrites mrc_jax/perturb/data/keyboards.json
    python launch/make_keyboards.py --check         # exit 1 if the file differs from a rebuild

Reads xkeyboard-config as Debian's `xkb-data` installs it (/usr/share/X11/xkb) and X11's
keysymdef.h (`x11proto-dev`): for every language of the support table and of Belebele, the
layout evdev.xml lists for it (see mrc_jax.perturb.xkb.choose_layout), the characters of its
alphanumeric keys on the first two shift levels, and where the pc105 geometry puts each key.
xkeyboard-config is under the MIT/X11 licence (the data file repeats its notice).
"""

import json
import pathlib
import subprocess
import sys

from absl import app, flags

from mrc_jax.data.languages import BELEBELE
from mrc_jax.perturb import keyboards, languages, xkb

FLAGS = flags.FLAGS
flags.DEFINE_string("xkb_root", str(xkb.XKB_ROOT), "xkeyboard-config's data directory")
flags.DEFINE_string("keysymdef", str(xkb.KEYSYMDEF), "X11's keysymdef.h")
flags.DEFINE_string("out", str(keyboards.DATA_FILE), "data file to write")
flags.DEFINE_bool("check", False, "compare with --out instead of writing it")

# A layout with fewer letters of the language's script than this types another script.
MIN_LETTERS = 20
LICENCE = (
  "Keyboard data from xkeyboard-config (https://gitlab.freedesktop.org/xkeyboard-config/"
  "xkeyboard-config), MIT/X11 licence: permission to use, copy, modify, distribute, and "
  "sell this software and its documentation for any purpose is hereby granted without fee, "
  "provided that the above copyright notice appear in all copies and that both that "
  "copyright notice and this permission notice appear in supporting documentation."
)


def _package_version(package: str) -> str:
  try:
    out = subprocess.run(
      ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True
    )
  except FileNotFoundError:
    return "unknown"
  return out.stdout.strip() or "unknown"


def build(root: pathlib.Path, keysymdef: pathlib.Path, langs: list[str]) -> dict:
  keysyms = xkb.read_keysyms(keysymdef)
  layouts = xkb.read_layouts(root)
  symbols: dict[str, dict] = {}

  def keys_of(name: str) -> dict[str, list[str | None]]:
    if name not in symbols:
      read = xkb.read_symbols(name, keysyms, root)
      symbols[name] = {
        key: (levels + [None, None])[:2]
        for key, levels in sorted(read.items())
        if xkb.ALPHANUMERIC.fullmatch(key)
      }
    return symbols[name]

  chosen, unserved = {}, {}
  for lang in langs:
    script = languages.script(lang)
    if script is None:
      unserved[lang] = "CLDR knows no script for the language"
      continue
    pattern = languages.letter_pattern(script)
    tag = languages.resolve(lang)
    codes = tuple(
      dict.fromkeys(
        c
        for c in (
          languages.langcodes.Language.get(languages.base_language(lang)).to_alpha3(),
          lang.split("_")[0].split("-")[0].lower(),
        )
        if len(c) == 3
      )
    )
    territory = tag.maximize().territory

    def letters_of(name: str, pattern=pattern) -> int:
      typed = {c for levels in keys_of(name).values() for c in levels if c}
      return sum(bool(pattern.fullmatch(c)) for c in typed)

    choice = xkb.choose_layout(codes, territory, letters_of, layouts, MIN_LETTERS)
    if choice.layout is None:
      unserved[lang] = choice.why
    else:
      chosen[lang] = {"layout": choice.layout, "letters": choice.letters}
  described = {layout.name: layout.description for layout in layouts}
  used = sorted({c["layout"] for c in chosen.values()} | {keyboards.LATIN_FALLBACK})
  return {
    "source": {
      "xkb-data": _package_version("xkb-data"),
      "x11proto-dev": _package_version("x11proto-dev"),
      "geometry": "pc(pc105)",
      "licence": LICENCE,
    },
    "geometry": {k: list(v) for k, v in sorted(xkb.read_geometry(root).items())},
    "layouts": {
      name: {"description": described.get(name, name), "keys": keys_of(name)} for name in used
    },
    "languages": dict(sorted(chosen.items())),
    "unserved": dict(sorted(unserved.items())),
  }


def main(argv):
  del argv
  langs = sorted(set(languages.TABLE_LANGUAGES) | set(BELEBELE))
  data = build(pathlib.Path(FLAGS.xkb_root), pathlib.Path(FLAGS.keysymdef), langs)
  text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
  out = pathlib.Path(FLAGS.out)
  if FLAGS.check:
    current = json.loads(out.read_text(encoding="utf-8"))
    # The package versions name the machine's install, not the layouts.
    same = {k: v for k, v in current.items() if k != "source"} == {
      k: v for k, v in data.items() if k != "source"
    }
    print(f"{out}: {'up to date' if same else 'differs from a rebuild'}")
    sys.exit(0 if same else 1)
  out.parent.mkdir(parents=True, exist_ok=True)
  out.write_text(text, encoding="utf-8")
  print(f"{out}: {len(data['languages'])} languages on {len(data['layouts'])} layouts")
  for lang, why in data["unserved"].items():
    print(f"  no layout for {lang}: {why}")


if __name__ == "__main__":
  app.run(main)
