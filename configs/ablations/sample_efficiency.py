r"""python launch/sweep.py --sweep=configs/ablations/sample_efficiency.py:model=xlmr-base,hw=tpu_v4_8 --root=$ROOT --mode=commands

Muppet's sample-efficiency ablation on the study's data: fine-tune on 10%, 25%, 50%, 75%
and 100% of the fine-tuning set (a fixed random subset per fraction, same number of
epochs), from the plain checkpoint and from the all-task pre-finetuned one, then evaluate
cross-lingually clean and under attack.

Arguments: model=, adv=none|advrace|advrace_multilingual, fractions= ('+'-separated),
hw=, sets=, attacks=, langs= (as eval_xlingual.py), runlocal (flag).

What to expect (Muppet paper): the pre-finetuned model's curve sits above the plain one,
most at small fractions (pre-finetuning makes fine-tuning more data-efficient); the gap
closes toward 100%.
"""

from configs import common


def get_sweep(arg: str = ""):
  opts = common.parse_arg(
    arg,
    model="xlmr-base",
    adv="none",
    fractions=("0.1", "0.25", "0.5", "0.75", "1.0"),
    hw="tpu_v4_8",
    sets=("belebele", "exams", "xcopa"),
    langs=(),
    attacks=("charswap", "addsent", "typo_keyboard", "homoglyph"),
    runlocal=False,
  )
  local = ",runlocal" if opts.runlocal else ""
  runs = []
  for prefinetune in (False, True):
    for fraction in opts.fractions:
      ft = f"ft_{opts.model}_{'pft' if prefinetune else 'nopft'}_{opts.adv}_frac{fraction}"
      stages = common.study_stages(
        opts.model,
        ft,
        pft_tasks="all" if prefinetune else None,
        adv=opts.adv,
        hw=opts.hw,
        local=local,
        sets=opts.sets,
        attacks=opts.attacks,
        langs=opts.langs,
        finetune_args=f",fraction={fraction}",
      )
      runs.append(
        common.run(
          ft,
          dict(fraction=float(fraction), prefinetune=prefinetune, model=opts.model, adv=opts.adv),
          stages,
        )
      )
  return runs
