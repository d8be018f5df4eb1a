"""The X keyboard database readers on fixture files in its formats, the layout choice, and the
committed keyboard data against a rebuild from the installed database."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from mrc_jax.perturb import keyboards, xkb

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "xkb"
ROOT = pathlib.Path(__file__).parents[2]


@pytest.fixture(scope="module")
def keysyms():
  return xkb.read_keysyms(FIXTURES / "keysymdef.h")


def test_keysyms_from_their_unicode_comments(keysyms):
  assert keysyms["odiaeresis"] == "ö" and keysyms["Cyrillic_a"] == "\u0430"
  assert keysyms["Greek_IOTAaccentdieresis"] == "\u03aa"  # a parenthesised comment
  assert "dead_acute" not in keysyms  # types no character
  assert xkb.keysym_char("U0915", keysyms) == "क"
  assert xkb.keysym_char("U1C9", keysyms) == "\u01c9"
  assert xkb.keysym_char("0x1000410", keysyms) == "А"
  assert xkb.keysym_char("0xe9", keysyms) == "é"
  assert xkb.keysym_char("NoSymbol", keysyms) is None


def test_symbols_resolve_includes_levels_and_groups(keysyms):
  keys = xkb.read_symbols("tt", keysyms, FIXTURES)  # the default section, "basic"
  assert keys["AD01"][:2] == ["q", "Q"]  # `any` kept it; `augment` did not replace it
  assert keys["AD02"] == ["w", "W"]
  assert keys["AC01"] == ["ö", "Ö"]  # after type[Group1]
  assert keys["AC02"] == ["s", "S", "ß"]  # NoSymbol kept the first two levels
  assert keys["AB01"] == ["а", "А"]  # symbols[Group1]= with U and 0x100 keysyms
  assert "AB02" not in keys  # a second group is not typed
  assert keys["AC01"] != ["a", "A"]  # ":2" put tt(first) in another group
  cyr = xkb.read_symbols("tt(cyr)", keysyms, FIXTURES)
  assert cyr["AD02"] == ["а", "А"] and cyr["AD01"][:2] == ["q", "Q"]


@pytest.mark.parametrize(
  "name,message",
  [
    ("nope", "no symbols file"),
    ("tt(none)", "no xkb_symbols section 'none'"),
    ("tt(loop)", "includes itself"),
  ],
)
def test_symbols_errors_name_file_and_section(keysyms, name, message):
  with pytest.raises(xkb.XkbError, match=message):
    xkb.read_symbols(name, keysyms, FIXTURES)


def test_geometry_places_the_staggered_rows():
  centres = xkb.read_geometry(FIXTURES)
  assert len(centres) == 48
  assert centres["AE01"] == (28.0, 10.0)  # after TLDE (18 wide + 1 gap)
  assert centres["AD01"] == (38.0, 29.0)  # after the 28-wide TAB
  assert centres["AC01"] == (43.0, 48.0)  # after the 33-wide CAPS
  assert centres["AB01"] == (54.0, 67.0)  # after LFSH and LSGT


def test_layouts_carry_their_language_lists():
  layouts = {layout.name: layout for layout in xkb.read_layouts(FIXTURES)}
  assert layouts["tt"].languages == ("tst", "oth") and not layouts["tt"].is_variant
  assert layouts["tt(cyr)"].languages == ("cyt",) and layouts["tt(cyr)"].own_languages
  assert layouts["tt(alt)"].languages == ("tst", "oth") and not layouts["tt(alt)"].own_languages


def _layouts(*entries):
  return [xkb.Layout(name, name, codes, own, "(" in name) for name, codes, own in entries]


def test_choose_layout_prefers_the_national_layout_then_the_territory_then_letters():
  layouts = _layouts(
    ("aa", ("oth", "tst"), True),  # lists tst, not first
    ("bb", ("tst",), True),  # national, few letters
    ("cc", ("tst",), True),  # national
    ("dd", ("tst",), True),  # national, named after the territory
    ("aa(x)", ("tst",), True),  # a variant listing tst
  )
  letters = {"aa": 60, "bb": 30, "cc": 50, "dd": 25, "aa(x)": 70}.get
  assert xkb.choose_layout(("tst",), "DD", letters, layouts, 20).layout == "dd"
  assert xkb.choose_layout(("tst",), "FR", letters, layouts, 20).layout == "cc"
  # Too few letters of the script: the next tier serves.
  few = {"aa": 60, "bb": 3, "cc": 5, "dd": 2, "aa(x)": 70}.get
  assert xkb.choose_layout(("tst",), "DD", few, layouts, 20).layout == "aa(x)"
  none = xkb.choose_layout(("tst",), "DD", lambda name: 0, layouts, 20)
  assert none.layout is None and "fewer than 20 letters" in none.why and "dd (0)" in none.why
  assert xkb.choose_layout(("zzz",), None, letters, layouts, 20).why.startswith("no layout")


def test_committed_data_serves_the_scripts_it_claims():
  data = keyboards.data()
  assert "MIT/X11" in data["source"]["licence"]
  assert keyboards.layout_for("de") == "de" and keyboards.layout_for("hi") == "in"
  assert keyboards.layout_for("th") == "th" and keyboards.layout_for("ko") is None
  assert "kr (0)" in keyboards.unserved_reason("ko")  # kr types Latin letters only
  scripts = {keyboards.layout_for(lang) for lang in ("ta", "te", "kn", "ml", "gu", "pa", "or")}
  assert scripts == {
    "in(tam)",
    "in(tel)",
    "in(kan)",
    "in(mal_enhanced)",
    "in(guj)",
    "in(guru)",
    "in(ori)",
  }


@pytest.mark.integration
def test_committed_data_is_a_rebuild_of_the_installed_database(tmp_path):
  """launch/make_keyboards.py on the machine's xkb-data gives the committed file."""
  if not (xkb.XKB_ROOT / "rules" / "evdev.xml").is_file() or not xkb.KEYSYMDEF.is_file():
    pytest.skip("xkb-data or x11proto-dev is not installed")
  recorded = keyboards.data()["source"]
  installed = subprocess.run(
    ["dpkg-query", "-W", "-f=${Version}", "xkb-data"], capture_output=True, text=True
  ).stdout
  if installed != recorded["xkb-data"]:
    pytest.skip(
      f"installed xkb-data {installed!r}, the file was built from {recorded['xkb-data']!r}"
    )
  out = tmp_path / "keyboards.json"
  run = subprocess.run(
    [sys.executable, "launch/make_keyboards.py", f"--out={out}"],
    cwd=ROOT,
    capture_output=True,
    text=True,
    env=dict(os.environ, PYTHONPATH=str(ROOT)),
  )
  assert run.returncode == 0, run.stderr[-3000:]
  rebuilt = json.loads(out.read_text(encoding="utf-8"))
  assert rebuilt == keyboards.data()
