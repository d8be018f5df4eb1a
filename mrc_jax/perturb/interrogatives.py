"""Interrogative phrases of languages that ask content questions in situ, so that AddSent can
put the wrong answer where the question's wh-phrase stands and make a declarative sentence.

Languages that front the wh-word (English, German, Arabic, ...) keep AdvRACE's form,
question + answer; the tables serve only languages whose wh-phrase stays in the position
its answer takes (WALS feature 93A, "not initial"). No maintained package lists
interrogatives across languages, so the forms are written here, each the standard one of
its grammar; a form that is also part of a non-interrogative word is listed in `not_wh`.

A phrase is one of:
- a pronoun or quantifier, replaced alone ("多少" in "丢了多少分" keeps its classifier 分);
- a determiner opening its noun phrase ("哪个球员", "hangi oyuncu", "どの国"): the
  determiner and the word after it are replaced;
- a determiner closing it ("cầu thủ nào", "ประเทศใด"): listed with the pronouns and replaced
  alone, the noun staying in apposition ("cầu thủ Manning", "ประเทศฝรั่งเศส"), as those
  languages name things.
"""

from __future__ import annotations

import dataclasses
import functools

import regex

from mrc_jax.perturb import text
from mrc_jax.perturb.languages import best_key


@dataclasses.dataclass(frozen=True)
class WhRules:
  pronouns: frozenset[str]
  opening: frozenset[str] = frozenset()  # determiners before their noun
  not_wh: frozenset[str] = frozenset()  # words that start with a wh-form but do not ask
  polar_openers: frozenset[str] = frozenset()  # a yes/no particle opening the question
  final_particles: frozenset[str] = frozenset()  # a question particle closing it: dropped
  # (question ending, declarative ending): Korean -니까 -> -니다, Japanese -か dropped.
  endings: tuple[tuple[str, str], ...] = ()
  # Case particles that stay when the word they end is part of the wh-phrase (Korean).
  particles: tuple[str, ...] = ()
  # The wh-form may carry a suffix in the same word (Korean particles): the suffix stays.
  suffixed: bool = False


_ZH_NOT_WH = frozenset({"几乎", "几何", "几率", "谁知", "如何是好"})
WH_RULES: dict[str, WhRules] = {
  "zh": WhRules(
    pronouns=frozenset(
      "什么时候 为什么 什么 谁 哪里 哪儿 多少 几 怎么样 怎么 怎样 如何 何时 多久 多长 多大 多远 "
      "多高 多重".split()
    ),
    opening=frozenset("哪一个 哪个 哪些 哪位 哪家 哪种 哪一 哪 什么样的 什么".split()),
    not_wh=_ZH_NOT_WH,
    final_particles=frozenset({"呢", "吗"}),
  ),
  "zh-Hant": WhRules(
    pronouns=frozenset(
      "什麼時候 為什麼 什麼 誰 哪裡 哪兒 多少 幾 怎麼樣 怎麼 怎樣 如何 何時 多久 多長 多大 多遠 "
      "多高 多重".split()
    ),
    opening=frozenset("哪一個 哪個 哪些 哪位 哪家 哪種 哪一 哪 什麼樣的 什麼".split()),
    not_wh=frozenset({"幾乎", "幾何", "幾率", "誰知"}),
    final_particles=frozenset({"呢", "嗎"}),
  ),
  "ja": WhRules(
    pronouns=frozenset(
      "何人 何年 何回 何日 何歳 何時 何 なに なん 誰 だれ どこ いつ いくつ いくら なぜ どうして "
      "どう どれ どちら".split()
    ),
    opening=frozenset({"どの", "どんな", "どういう", "何の"}),
    endings=(("でしょうか", "でしょう"), ("か", "")),
  ),
  "ko": WhRules(
    pronouns=frozenset("무엇 뭐 누구 누가 어디 언제 몇 얼마나 얼마 왜 어떻게".split()),
    opening=frozenset({"어느", "무슨", "어떤"}),
    endings=(("니까", "니다"), ("인가", "이다")),
    particles=tuple(
      sorted("은 는 이 가 을 를 의 에 에서 으로 로 와 과 도 만 에게 까지 부터".split(), key=len)[
        ::-1
      ]
    ),
    suffixed=True,
  ),
  "hi": WhRules(
    pronouns=frozenset(
      "कौन किसने किसको किसे किसका किसकी किसके क्या कहाँ कहां कब कितना कितनी कितने कैसे क्यों".split()
    ),
    opening=frozenset(
      {"किस", "कौन सा", "कौन सी", "कौन से", "कौनसा", "कौनसी", "कौनसे", "कौन-सा", "कौन-सी", "कौन-से"}
    ),
    polar_openers=frozenset({"क्या"}),  # sentence-initial क्या asks yes or no
  ),
  "tr": WhRules(
    pronouns=frozenset(
      "ne neyi neye neyin neden nedir neler neleri nelerdir nerede nereye nereden neresi "
      "neresidir nerededir kim kimi kime kimin kimden kimdir kimler kimlerdir kaç kaçta kaçtır "
      "kaçıncı kaçı kaçıdır nasıl niçin niye hangisi hangisidir hangileri kimdi neydi nelerdi "
      "neresiydi hangisiydi kaçtı".split()
    )
    # Copular forms: -dir "is", -di "was" (kimdi "who was").
    | {"ne zaman", "ne zamandır", "ne zamandı", "ne kadar", "ne kadardır", "ne kadardı"},
    opening=frozenset({"hangi"}),
    final_particles=frozenset("mi mı mu mü midir mıdır mudur müdür".split()),
  ),
  "th": WhRules(
    pronouns=frozenset(
      "อะไร ใคร ที่ไหน ที่ใด เมื่อไร เมื่อไหร่ เมื่อใด เท่าไร เท่าไหร่ เท่าใด กี่ ทำไม อย่างไร ยังไง "
      "ไหน ใด".split()  # ไหน, ใด close a noun phrase (ประเทศใด): replaced alone
    ),
    final_particles=frozenset({"ไหม", "มั้ย", "หรือไม่", "หรือเปล่า"}),
  ),
  "vi": WhRules(
    pronouns=frozenset(
      {
        "ai",
        "gì",
        "đâu",
        "ở đâu",
        "bao lâu",
        "bao nhiêu",
        "mấy",
        "khi nào",
        "lúc nào",
        "bao giờ",
        "tại sao",
        "vì sao",
        "như thế nào",
        "thế nào",
        "ra sao",
        "điều gì",
        "cái gì",
        "những gì",
        "nào",  # closes a noun phrase (cầu thủ nào): replaced alone
      }
    ),
  ),
}


def rules(lang: str) -> WhRules | None:
  """The in-situ rules serving `lang`, None where the language fronts its wh-phrase."""
  key = best_key(lang, WH_RULES)
  return WH_RULES[key] if key else None


@functools.lru_cache(maxsize=None)
def _pattern(lang: str) -> regex.Pattern:
  found = rules(lang)
  forms = sorted(found.pronouns | found.opening, key=len, reverse=True)
  return regex.compile("|".join(regex.escape(f) for f in forms), regex.IGNORECASE)


def _boundaries(body: str, lang: str) -> tuple[set[int], set[int], list[tuple[int, int]]]:
  spans = text.word_spans(body, lang)
  return {a for a, _ in spans}, {b for _, b in spans}, spans


def _word_at(spans: list[tuple[int, int]], start: int) -> tuple[int, int] | None:
  return next(((a, b) for a, b in spans if a == start), None)


def wh_phrase(body: str, lang: str) -> tuple[int, int] | None:
  """(start, end) in `body` of its first wh-phrase, None where there is none or `lang`
  fronts it. Unspaced scripts need only start on a word boundary (ICU joins 谁在)."""
  found = rules(lang)
  if found is None or not body:
    return None
  starts, ends, spans = _boundaries(body, lang)
  unspaced = not text.uses_spaces(lang)
  first = spans[0][0] if spans else 0
  for match in _pattern(lang).finditer(body, overlapped=True):
    a, b = match.span()
    form = match.group().casefold()
    word = _word_at(spans, a)
    if a not in starts or (word and body[word[0] : word[1]].casefold() in found.not_wh):
      continue
    if not (unspaced or found.suffixed or b in ends):
      continue
    if a == first and form in found.polar_openers:
      continue
    if form in found.opening:
      following = next(((c, d) for c, d in spans if c >= b), None)
      if following and not body[b : following[0]].strip():
        b = following[1] - _particle(body[following[0] : following[1]], found.particles)
    return a, b
  return None


def _particle(word: str, particles: tuple[str, ...]) -> int:
  """Length of a case particle closing `word` (kept outside the phrase), else 0."""
  return next((len(p) for p in particles if word.endswith(p) and len(word) > len(p)), 0)


def declarative(body: str, lang: str) -> str:
  """`body` without its polar opener, closing question particle or question ending."""
  found = rules(lang)
  if found is None:
    return body
  spans = text.word_spans(body, lang)
  if spans and body[spans[0][0] : spans[0][1]].casefold() in found.polar_openers:
    body = body[spans[0][1] :].lstrip()
    spans = text.word_spans(body, lang)
  starts = {a for a, _ in spans}
  folded = body.casefold()
  for particle in sorted(found.final_particles, key=len, reverse=True):
    if folded.endswith(particle) and len(body) - len(particle) in starts:
      body = body[: len(body) - len(particle)].rstrip()
      break
  for ending, replacement in found.endings:
    if body.endswith(ending) and len(body) > len(ending):
      return body[: len(body) - len(ending)] + replacement
  return body
