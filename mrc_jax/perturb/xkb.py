"""Readers for the X keyboard database (xkeyboard-config, Debian's ``xkb-data``).

Three parts of the database are read, in their upstream text formats:
- ``rules/evdev.xml``: every layout and variant with the ISO 639 codes of the languages it
  is meant for (a variant without a list inherits its layout's);
- ``symbols/FILE``: ``xkb_symbols "VARIANT" { ... }`` sections whose ``key <AD01> { [ a, A ] }``
  lines give the keysyms of a key per shift level, with ``include``/``augment`` of other
  sections;
- ``geometry/pc``: the ``pc105`` keyboard, whose rows of key shapes place every key.
Keysym names become characters through X11's ``keysymdef.h`` (x11proto-dev), whose comments
give each keysym's Unicode code point.

Nothing here runs when attacks run: ``launch/make_keyboards.py`` turns the database into the
data file the attacks read.
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

XKB_ROOT = pathlib.Path("/usr/share/X11/xkb")
KEYSYMDEF = pathlib.Path("/usr/include/X11/keysymdef.h")
# The keys typing letters: number row, three letter rows, and the ISO keys beside them.
ALPHANUMERIC = re.compile(r"(AE|AD|AC|AB)\d\d|TLDE|BKSL|LSGT")

_DEFINE = re.compile(r"#define XK_(\w+)\s+0x([0-9a-fA-F]+)\s*/\*\s*\(?U\+([0-9A-Fa-f]+)")
_SECTION = re.compile(r'((?:\w+\s+)*)xkb_symbols\s+"([^"]+)"\s*\{')
_INCLUDE = re.compile(r'\b(include|augment|override|replace)\s+"([^"]+)"')
_KEY = re.compile(r"\bkey\s+<(\w+)>\s*\{([^;]*?)\}\s*;", re.S)
_GROUP1_SYMBOLS = re.compile(r"symbols\[Group1\]\s*=\s*\[([^\]]*)\]", re.I)
_INDEXED = re.compile(r"\w+\s*\[\s*\w+\s*\]")  # type[Group1], actions[Group1], ...
_LEVELS = re.compile(r"\[([^\]]*)\]")


class XkbError(ValueError):
  """A database file that does not parse; the message names file and section."""


@dataclasses.dataclass(frozen=True)
class Layout:
  """One entry of evdev.xml: ``name`` is ``FILE`` or ``FILE(VARIANT)``."""

  name: str
  description: str
  languages: tuple[str, ...]  # ISO 639-2/3 codes, its own list or its layout's
  own_languages: bool  # False where a variant inherits its layout's list
  is_variant: bool


def read_keysyms(path: pathlib.Path = KEYSYMDEF) -> dict[str, str]:
  """Keysym name -> the character it types, from keysymdef.h's ``U+XXXX`` comments."""
  table = {}
  for match in _DEFINE.finditer(path.read_text(encoding="utf-8")):
    table[match[1]] = chr(int(match[3], 16))
  if not table:
    raise XkbError(f"{path}: no '#define XK_name 0x... /* U+XXXX */' lines")
  return table


def keysym_char(keysym: str, keysyms: dict[str, str]) -> str | None:
  """The character of one keysym as symbols files write it (name, ``U0915``, ``0x1000915``);
  None for keysyms that type no character (``NoSymbol``, dead keys, functions)."""
  if re.fullmatch(r"U[0-9A-Fa-f]{2,6}", keysym):
    return chr(int(keysym[1:], 16))
  if re.fullmatch(r"0x[0-9A-Fa-f]+", keysym):
    value = int(keysym, 16)
    if value & 0xFF000000 == 0x01000000:
      return chr(value & 0xFFFFFF)
    return chr(value) if 0x20 <= value <= 0xFF else None
  return keysyms.get(keysym)


def read_layouts(root: pathlib.Path = XKB_ROOT) -> list[Layout]:
  """Every layout and variant of ``rules/evdev.xml``, in the file's order."""
  path = root / "rules" / "evdev.xml"
  layouts = []
  for layout in ET.parse(path).getroot().iter("layout"):
    item = layout.find("configItem")
    name = item.findtext("name")
    own = tuple(code.text for code in item.iter("iso639Id"))
    layouts.append(Layout(name, item.findtext("description") or "", own, bool(own), False))
    for variant in layout.iter("variant"):
      vitem = variant.find("configItem")
      codes = tuple(code.text for code in vitem.iter("iso639Id"))
      layouts.append(
        Layout(
          f"{name}({vitem.findtext('name')})",
          vitem.findtext("description") or "",
          codes or own,
          bool(codes),
          True,
        )
      )
  if not layouts:
    raise XkbError(f"{path}: no <layout> entries")
  return layouts


def _strip_comments(text: str) -> str:
  text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
  return re.sub(r"//[^\n]*|#[^\n]*", " ", text)


def _block(text: str, start: int) -> str:
  """The text from `start` (just after an opening brace) to its closing brace."""
  depth, i = 1, start
  while depth and i < len(text):
    depth += {"{": 1, "}": -1}.get(text[i], 0)
    i += 1
  return text[start : i - 1]


def _sections(path: pathlib.Path) -> tuple[dict[str, str], str]:
  """Section name -> body of one symbols file, and the name of its default section."""
  text = _strip_comments(path.read_text(encoding="utf-8"))
  sections, default = {}, None
  for match in _SECTION.finditer(text):
    sections[match[2]] = _block(text, match.end())
    if default is None and "default" in match[1].split():
      default = match[2]
  if not sections:
    raise XkbError(f"{path}: no xkb_symbols sections")
  return sections, default or next(iter(sections))


def read_symbols(
  name: str, keysyms: dict[str, str], root: pathlib.Path = XKB_ROOT
) -> dict[str, list[str | None]]:
  """Key name -> characters per shift level of the first group, for ``FILE`` or
  ``FILE(VARIANT)``, with included sections resolved."""
  return {
    key: [keysym_char(keysym, keysyms) for keysym in levels]
    for key, levels in _section_keysyms(name, root, ()).items()
  }


def _section_keysyms(name: str, root: pathlib.Path, seen: tuple) -> dict[str, list[str]]:
  """Key name -> keysym names per level of one section. Statements apply in order: a key
  line or an ``include`` overrides earlier levels, ``augment`` fills only keys not yet
  defined; ``any`` and ``NoSymbol`` keep what an earlier statement put there."""
  file, _, variant = name.partition("(")
  variant = variant.rstrip(")")
  path = root / "symbols" / file
  if not path.is_file():
    raise XkbError(f"{path}: no symbols file for {name!r}")
  sections, default = _sections(path)
  variant = variant or default
  if variant not in sections:
    raise XkbError(f"{path}: no xkb_symbols section {variant!r}")
  if (file, variant) in seen:
    raise XkbError(f"{path}({variant}): includes itself")
  body = sections[variant]
  keys: dict[str, list[str]] = {}
  statements = sorted(
    [(m.start(), "include", m) for m in _INCLUDE.finditer(body)]
    + [(m.start(), "key", m) for m in _KEY.finditer(body)],
    key=lambda s: s[0],
  )
  for _, kind, match in statements:
    if kind == "include":
      for part in re.split(r"[+|]", match[2]):
        part, _, group = part.strip().partition(":")
        if not part or group not in ("", "1"):
          continue  # "FILE:2" fills another group, not the one typed
        included = _section_keysyms(part, root, (*seen, (file, variant)))
        for key, levels in included.items():
          if match[1] != "augment" or key not in keys:
            keys[key] = _merge(keys.get(key, []), levels)
      continue
    levels = _GROUP1_SYMBOLS.search(match[2])
    if levels is None and not re.search(r"symbols\s*\[", match[2], re.I):
      levels = _LEVELS.search(_INDEXED.sub(" ", match[2]))
    if levels is None:
      continue  # a key given only a type or actions keeps its earlier symbols
    keys[match[1]] = _merge(keys.get(match[1], []), [s.strip() for s in levels[1].split(",")])
  return keys


def _merge(old: list[str], new: list[str]) -> list[str]:
  """A key's levels after a later definition, level by level; levels the new one leaves
  out stay as they were."""
  merged = list(old) + ["NoSymbol"] * max(0, len(new) - len(old))
  for level, keysym in enumerate(new):
    if keysym not in ("any", "NoSymbol"):
      merged[level] = keysym
  return merged


def read_geometry(root: pathlib.Path = XKB_ROOT, model: str = "pc105") -> dict[str, tuple]:
  """Key name -> (x, y) of its centre in the geometry's units, for the alphanumeric keys of
  the ``Alpha`` section of ``geometry/pc(MODEL)``."""
  path = root / "geometry" / "pc"
  text = _strip_comments(path.read_text(encoding="utf-8"))
  start = re.search(rf'xkb_geometry\s+"{model}"\s*\{{', text)
  if start is None:
    raise XkbError(f"{path}: no xkb_geometry {model!r}")
  body = _block(text, start.end())
  shapes = {
    m[1]: float(m[2]) for m in re.finditer(r'shape\s+"(\w+)"\s*\{\s*\{\s*\[\s*([\d.]+)', body)
  }
  gap = float(re.search(r"key\.gap\s*=\s*([\d.]+)", body)[1])
  alpha = re.search(r'section\s+"Alpha"\s*\{', body)
  if alpha is None:
    raise XkbError(f"{path}({model}): no Alpha section")
  section = _block(body, alpha.end())
  centres = {}
  for row in re.finditer(r"\brow\s*\{", section):
    row_body = _block(section, row.end())
    top = float(re.search(r"top\s*=\s*([\d.]+)", row_body)[1])
    keys = _block(row_body, re.search(r"keys\s*\{", row_body).end())
    x = 0.0
    for key in re.finditer(r'\{\s*<(\w+)>\s*(?:,\s*"(\w+)")?[^}]*\}|<(\w+)>', keys):
      name, shape = (key[1], key[2]) if key[1] else (key[3], None)
      width = shapes[shape or "NORM"]
      centres[name] = (x + width / 2, top + shapes["NORM"] / 2)
      x += width + gap
  wanted = {k: v for k, v in centres.items() if ALPHANUMERIC.fullmatch(k)}
  if len(wanted) < 40:
    raise XkbError(f"{path}({model}): {len(wanted)} alphanumeric keys placed, expected 48")
  return wanted


@dataclasses.dataclass(frozen=True)
class Choice:
  """The layout chosen for a language, or why none: ``letters`` counts the distinct
  characters of the language's script on its first two shift levels."""

  layout: str | None
  letters: int
  why: str


def choose_layout(
  codes: tuple[str, ...],
  territory: str | None,
  letters_of: Callable[[str], int],
  layouts: list[Layout],
  min_letters: int,
) -> Choice:
  """The layout a language is typed on, from evdev.xml's language lists.

  Tiers, best first: a layout listing the language first (its national layout); a variant
  listing it itself; a layout listing it among others; a variant inheriting its layout's
  list. Within a tier the layout named after the language's likely territory (de, fr, us)
  wins, then the one with most letters of the language's script; a candidate with fewer
  than `min_letters` of them (Korean's kr types Latin, Hangul comes from an input method)
  is no layout for the language.
  """
  tiers: list[list[Layout]] = [[], [], [], []]
  for layout in layouts:
    if not set(codes) & set(layout.languages):
      continue
    if not layout.is_variant:
      tiers[0 if layout.languages[0] in codes else 2].append(layout)
    else:
      tiers[1 if layout.own_languages else 3].append(layout)
  rejected = []
  for tier in tiers:
    scored = []
    for order, layout in enumerate(tier):
      letters = letters_of(layout.name)
      if letters < min_letters:
        rejected.append(f"{layout.name} ({letters})")
        continue
      named_after = territory is not None and layout.name == territory.lower()
      scored.append((not named_after, -letters, order, layout.name, letters))
    if scored:
      _, _, _, name, letters = min(scored)
      return Choice(name, letters, "evdev.xml lists the language for it")
  if not rejected:
    return Choice(None, 0, "no layout of evdev.xml lists the language")
  shown = ", ".join(rejected[:4]) + (", ..." if len(rejected) > 4 else "")
  return Choice(None, 0, f"fewer than {min_letters} letters of its script on {shown}")
