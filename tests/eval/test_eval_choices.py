"""Choice slots follow the data: 3-, 4- and 5-option questions in EXAMS' upstream format."""

import io
import json
import pathlib
import tarfile

import numpy as np
from eval_helpers import eval_config

from mrc_jax.eval import inputs, results, run
from mrc_jax.models.multitask import HeadSpec
from mrc_jax.train.run_spec import RunSpec

# Three questions of an EXAMS cross-lingual dev file with paragraphs (github.com/mhardalov/
# exams-qa): 3, 4 and 5 choices, the answer last but for the first.
LABELS = "ABCDE"
QUESTIONS = [("tr-3", 3, "B"), ("tr-4", 4, "D"), ("tr-5", 5, "E")]


def write_exams_dev(data_dir: pathlib.Path) -> None:
  records = [
    {
      "id": qid,
      "answerKey": key,
      "info": {"language": "Turkish", "subject": "Biology", "grade": 12},
      "question": {
        "stem": f"Soru {qid} hangi seçenektir?",
        "choices": [
          {
            "text": f"seçenek {label}",
            "label": label,
            "para": f"Paragraf {label}: bu seçenek hakkında bir metin.",
          }
          for label in LABELS[:n]
        ],
      },
    }
    for qid, n, key in QUESTIONS
  ]
  data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
  path = data_dir / "exams" / "cross-lingual" / "with_paragraphs" / "dev_tr_with_para.jsonl.tar.gz"
  path.parent.mkdir(parents=True)
  with tarfile.open(path, "w:gz") as archive:
    info = tarfile.TarInfo("dev_tr_with_para.jsonl")
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def exams_config(data_dir):
  config = eval_config(
    ["exams.tr"], ("charswap",), num_examples=0, data_dir=str(data_dir), max_length=64
  )
  config.evals.robustness.split = "validation"
  assert config.data.max_choices == 4  # the training layout: fewer slots than the data needs
  return config


def test_cells_take_the_most_options_of_their_examples(tmp_path):
  from mrc_jax.data import synthetic

  write_exams_dev(tmp_path / "data")
  synthetic.save_tokenizer(str(tmp_path / "tokenizer"))
  spec = RunSpec(
    encoder=None,
    heads=(HeadSpec("multiple_choice", "multiple_choice"),),
    tasks=("synthetic.en",),
    head_of_task=(0,),
    tokenizer_dir=str(tmp_path / "tokenizer"),
  )
  config = exams_config(tmp_path / "data")
  cells = list(inputs.entry_cells(config, "robustness", config.evals.robustness, spec))
  assert [cell.attack for cell in cells] == ["clean", "charswap"]
  for cell in cells:
    ((batch, meta),) = list(cell.batches)
    assert [m["id"] for m in meta] == [qid for qid, _, _ in QUESTIONS]
    assert batch["pool_row"].shape[1] == 5
    assert batch["choice_mask"][:3].sum(axis=1).tolist() == [3, 4, 5]
    assert batch["label"][:3].tolist() == [1, 3, 4]


def test_a_four_choice_workdir_scores_five_choice_questions(make_workdir, tmp_path):
  write_exams_dev(tmp_path / "data")
  workdir = make_workdir("run", 0)
  paths = run.evaluate_workdir(
    exams_config(tmp_path / "data"), str(workdir), run.ReportOptions(num_resamples=10)
  )
  cells = {cell.key: cell for cell in results.read_predictions(paths["predictions"])}
  assert set(cells) == {("exams", "tr", "clean"), ("exams", "tr", "charswap")}
  choices = {qid: n for qid, n, _ in QUESTIONS}
  for cell in cells.values():
    assert cell.ids == [qid for qid, _, _ in QUESTIONS] and cell.gold == [1, 3, 4]
    assert all(0 <= p < choices[qid] for qid, p in zip(cell.ids, cell.predicted))
    np.testing.assert_array_equal(
      cell.scores["accuracy"], np.asarray(cell.predicted) == np.asarray(cell.gold)
    )
