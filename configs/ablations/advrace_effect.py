r"""python launch/sweep.py --sweep=configs/ablations/advrace_effect.py:models=xlmr-base+xlmr-large,hw=tpu_v4_8 --root=$ROOT --mode=commands

The study's main table: pre-finetuning (off / on, all Muppet tasks) x fine-tuning data
(RACE / RACE + AdvRACE / RACE + AdvRACE + multilingual attacks) x model, each evaluated
cross-lingually clean and under every attack. ``launch/sweep.py --mode=gather`` puts every
run's mean clean accuracy, attacked accuracy and drop side by side.

Arguments: models= ('+'-separated presets), adv= (fine-tuning regimes, '+'-separated;
default none+advrace), hw=, sets=, attacks=, langs= ('+'-separated, as eval_xlingual.py), runlocal (flag).

What to expect: in English (AdvRACE paper) adversarial training narrows the drop on the
attacks it trains on with little clean cost; pre-finetuning helps clean accuracy a little
(Muppet: ~+0.5-1 on RACE for large models). The cross-lingual transfer of both effects is
the study's open question: a drop that shrinks in English but not in other languages (or
scripts) is the finding to look for.
"""

from configs import common
from configs import finetune_race


def get_sweep(arg: str = ""):
  opts = common.parse_arg(
    arg,
    models=("xlmr-base", "xlmr-large"),
    adv=("none", "advrace"),
    hw="tpu_v4_8",
    sets=("belebele", "exams", "xcopa"),
    langs=(),
    attacks=("charswap", "addsent", "typo_keyboard", "homoglyph", "distractor_extraction"),
    runlocal=False,
  )
  local = ",runlocal" if opts.runlocal else ""
  runs = []
  for model in opts.models:
    common.choose("models", model, common.MODELS)
    for prefinetune in (False, True):
      for adv in opts.adv:
        common.choose("adv", adv, finetune_race.ADV_CHOICES)
        ft = f"ft_{model}_{'pft' if prefinetune else 'nopft'}_{adv}"
        stages = common.study_stages(
          model,
          ft,
          pft_tasks="all" if prefinetune else None,
          adv=adv,
          hw=opts.hw,
          local=local,
          sets=opts.sets,
          attacks=opts.attacks,
          langs=opts.langs,
        )
        runs.append(common.run(ft, dict(model=model, prefinetune=prefinetune, adv=adv), stages))
  return runs
