import os

import pytest
import sentencepiece

FIXTURE_DATA = os.path.join(os.path.dirname(__file__), "fixtures", "data")


@pytest.fixture
def fixture_data_dir() -> str:
  return FIXTURE_DATA


@pytest.fixture
def real_data_dir() -> str:
  data_dir = os.environ.get("MRC_JAX_DATA_DIR")
  if not data_dir:
    pytest.skip("MRC_JAX_DATA_DIR is not set")
  return data_dir


MULTILINGUAL_SENTENCES = [
  "Wie viele Punkte gab die Verteidigung der Panthers ab?",
  "Der Kölner Dom ist eine römisch-katholische Kirche in Köln.",
  "ما هي عاصمة مصر؟ القاهرة هي عاصمة مصر وأكبر مدنها.",
  "Москва — столица России, крупнейший по численности населения город.",
  "北京是中华人民共和国的首都，也是全国政治中心。",
  "Türkiye'nin başkenti Ankara'dır; en kalabalık şehri ise İstanbul'dur.",
  "Hà Nội là thủ đô của nước Cộng hòa Xã hội chủ nghĩa Việt Nam.",
  "  spaces   between\twords\nand an émoji 🙂 too ",
]


@pytest.fixture(scope="session")
def multilingual_sentences():
  """Sentences in several scripts, with odd whitespace and an emoji."""
  return list(MULTILINGUAL_SENTENCES)


@pytest.fixture(scope="session")
def xlmr_dir(tmp_path_factory):
  """A tiny XLM-R-style unigram sentencepiece model trained on multilingual text."""
  directory = tmp_path_factory.mktemp("xlmr")
  corpus = [s for s in MULTILINGUAL_SENTENCES for _ in range(3)] + [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Die Verteidigung der Panthers gab nur 308 Punkte ab und belegte den sechsten Platz.",
    "Город был основан в двенадцатом веке на берегу реки.",
    "这座城市位于河流的北岸，历史悠久。",
  ]
  sentencepiece.SentencePieceTrainer.train(
    sentence_iterator=iter(corpus),
    model_prefix=str(directory / "sentencepiece.bpe"),
    vocab_size=180,
    hard_vocab_limit=False,
    model_type="unigram",
    character_coverage=1.0,
    minloglevel=2,
  )
  return str(directory)
