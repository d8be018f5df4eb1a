r"""Converts between a Hugging Face checkpoint directory and an orbax checkpoint.

  python launch/convert_checkpoint.py --hf_dir=xlm-roberta-base/ --orbax_dir=/ckpt/xlmr \
      --direction=hf_to_orbax
  python launch/convert_checkpoint.py --orbax_dir=/ckpt/xlmr --hf_dir=out/ \
      --direction=orbax_to_hf

The orbax checkpoint holds the encoder and any task head of the Hugging Face directory;
converting back writes config.json + model.safetensors that transformers loads.
"""

from absl import app, flags, logging

from mrc_jax.models import hf

FLAGS = flags.FLAGS
flags.DEFINE_string("hf_dir", None, "Hugging Face checkpoint directory.", required=True)
flags.DEFINE_string("orbax_dir", None, "Orbax checkpoint directory.", required=True)
flags.DEFINE_enum(
  "direction", "hf_to_orbax", ["hf_to_orbax", "orbax_to_hf"], "Which way to convert."
)


def main(argv):
  del argv
  if FLAGS.direction == "hf_to_orbax":
    encoder, config, heads = hf.load_hf_model(FLAGS.hf_dir)
    hf.save_orbax(FLAGS.orbax_dir, encoder, config, heads)
    logging.info("wrote %s (%s, heads: %s)", FLAGS.orbax_dir, config.model_type, sorted(heads))
  else:
    encoder, config, heads = hf.restore_orbax(FLAGS.orbax_dir)
    hf.save_hf_encoder(encoder, config, FLAGS.hf_dir, heads)
    logging.info("wrote %s (%s, heads: %s)", FLAGS.hf_dir, config.model_type, sorted(heads))


if __name__ == "__main__":
  app.run(main)
