"""Word alignment for codeswitch: its cost, its precision on anchors and the lexicon it
induces, per shared XQuAD language (into English), with multilingual-e5-small.

    python benchmarks/alignment.py --data_dir=$MRC_JAX_DATA_DIR [--max_pairs=300] [--layers=8]

Anchor precision: of the words written identically on both sides (names, numbers) that the
method aligned, the share aligned to their twin. Prints one Markdown table.
"""

import time

from absl import app, flags

from mrc_jax.perturb import alignment, embedder, parallel

FLAGS = flags.FLAGS
flags.DEFINE_string("data_dir", None, "data directory (default: $MRC_JAX_DATA_DIR)")
flags.DEFINE_integer("max_pairs", 300, "sentence pairs per language (0 = all)")
flags.DEFINE_list("langs", ["ar", "de", "es", "ru", "tr", "vi", "zh"], "XQuAD languages")
flags.DEFINE_list("layers", ["8"], "encoder layers to compare")
flags.DEFINE_string("encoder", None, "checkpoint (default: multilingual-e5-small)")


def main(argv):
  del argv
  rows = [
    "| lang | layer | method | pairs | pairs/s | anchor precision | lexicon words |",
    "|---" * 7 + "|",
  ]
  for layer in (int(x) for x in FLAGS.layers):
    model = embedder.TextEmbedder(FLAGS.encoder, layer=layer)
    model.token_states(["warm up"])  # compile outside the timing
    for lang in FLAGS.langs:
      pairs = parallel.sentence_pairs("xquad", lang, "en", FLAGS.data_dir, FLAGS.max_pairs)
      for method in alignment.METHODS:
        start = time.perf_counter()
        aligned = alignment.aligned_words(pairs, lang, "en", model, method)
        seconds = time.perf_counter() - start
        correct, checked = alignment.anchor_precision(pairs, aligned, lang, "en")
        lexicon = alignment.induce_lexicon(
          aligned, parallel.content_word(lang), parallel.content_word("en")
        )
        rows.append(
          f"| {lang} | {layer} | {method} | {len(pairs)} | {len(pairs) / seconds:.1f} | "
          f"{correct}/{checked} = {correct / max(checked, 1):.3f} | {len(lexicon)} |"
        )
        print(rows[-1], flush=True)
  print("\n".join(rows))


if __name__ == "__main__":
  app.run(main)
