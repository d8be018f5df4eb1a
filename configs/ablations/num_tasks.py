r"""python launch/sweep.py --sweep=configs/ablations/num_tasks.py:model=xlmr-base,hw=tpu_v4_8 --root=$ROOT --mode=commands

Muppet's scaling ablation carried to the cross-lingual robustness question: pre-finetune on
nested mixtures of 5, 10, 15, 20, 25, 30, 40 and all tasks (plus none: the plain
checkpoint), fine-tune each on RACE, evaluate cross-lingually clean and under attack.

Arguments: model=, hw=, adv=none|advrace (fine-tuning data), sets=, attacks=, langs= ('+'-separated, as
eval_xlingual.py), runlocal (flag: every stage a CPU wiring check).

What to expect (Muppet paper, English): below ~15 tasks pre-finetuning hurts fine-tuned
accuracy; above it accuracy grows roughly linearly with the number of tasks. Whether the
attacked accuracy and cross-lingual drop follow the same curve is what this sweep measures.
"""

from configs import common
from configs import prefinetune_muppet

NUM_TASKS = ("none",) + tuple(str(n) for n in prefinetune_muppet.TASK_COUNTS) + ("all",)


def get_sweep(arg: str = ""):
  opts = common.parse_arg(
    arg,
    model="xlmr-base",
    hw="tpu_v4_8",
    adv="none",
    sets=("belebele", "exams", "xcopa"),
    langs=(),
    attacks=("charswap", "addsent", "typo_keyboard", "homoglyph"),
    runlocal=False,
  )
  local = ",runlocal" if opts.runlocal else ""
  runs = []
  for tasks in NUM_TASKS:
    ft = f"ft_{opts.model}_{tasks}tasks_{opts.adv}"
    stages = common.study_stages(
      opts.model,
      ft,
      pft_tasks=None if tasks == "none" else tasks,
      adv=opts.adv,
      hw=opts.hw,
      local=local,
      sets=opts.sets,
      attacks=opts.attacks,
      langs=opts.langs,
    )
    runs.append(
      common.run(
        ft, dict(num_tasks=0 if tasks == "none" else tasks, model=opts.model, adv=opts.adv), stages
      )
    )
  return runs
