"""Bundled data sets, built offline with fixed seeds and fixed train/test splits.

- ``digits``: scikit-learn's 8x8 handwritten digits (1797 images, pixels 0..16, shipped inside
  scikit-learn). Images are scaled to [0, 1] by /16 and shaped (1, 8, 8); a fixed permutation
  (numpy `RandomState(0)`, stable across numpy versions) puts 360 images in the test set.
- ``mnist1d``: MNIST-1D (Greydanus, 2020) generated locally by the `mnist1d` package's published
  procedure, `make_dataset(get_dataset_args())`: 4000 train / 1000 test signals of length 40,
  seed 42. Never `get_dataset()`, which downloads. Signals are mapped to [0, 1] with the train set's
  0.5 and 99.5 percentiles (values beyond are clipped) and shaped (1, 40).

`load(name)` caches in memory, so experiments that train many nets build each set once.
`validation_split(dataset)` holds out a fixed fifth of the training set as its "test" set: recipes
(learning rate, epochs) are chosen there, never on the test set.
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .errors import unknown_choice

DATASETS = ("digits", "mnist1d")
#: data set -> (shape of one input, number of classes): known without building the set
SHAPES = {"digits": ((1, 8, 8), 10), "mnist1d": ((1, 40), 10)}


@dataclass(frozen=True)
class Dataset:
    name: str
    train_x: np.ndarray   # float32 in [0, 1], (N, *input_shape)
    train_y: np.ndarray   # int64 class indices
    test_x: np.ndarray
    test_y: np.ndarray
    num_classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.train_x.shape[1:])


#: share of the training set that `validation_split` holds out
VALIDATION_FRACTION = 0.2


def validation_split(dataset: Dataset) -> Dataset:
    """The training set split in two by a fixed permutation (numpy `RandomState(1)`): the first
    `VALIDATION_FRACTION` becomes the returned set's test set, the rest its training set."""
    order = np.random.RandomState(1).permutation(len(dataset.train_y))
    held = int(round(VALIDATION_FRACTION * len(order)))
    validation, train = np.sort(order[:held]), np.sort(order[held:])
    return Dataset(f"{dataset.name}-validation", dataset.train_x[train], dataset.train_y[train],
                   dataset.train_x[validation], dataset.train_y[validation], dataset.num_classes)


def load(name: str) -> Dataset:
    if name not in DATASETS:
        raise unknown_choice("data set", name, DATASETS)
    return _load_cached(name)


@lru_cache(maxsize=None)
def _load_cached(name: str) -> Dataset:
    dataset = _digits() if name == "digits" else _mnist1d()
    if (dataset.input_shape, dataset.num_classes) != SHAPES[name]:
        raise RuntimeError(f"data set {name} has shape {dataset.input_shape} and {dataset.num_classes} "
                           f"classes, but SHAPES says {SHAPES[name]}")
    return dataset


def _digits() -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
    y = bunch.target.astype(np.int64)
    order = np.random.RandomState(0).permutation(len(y))
    test, train = order[:360], order[360:]
    return Dataset("digits", x[train], y[train], x[test], y[test], 10)


def _mnist1d() -> Dataset:
    from mnist1d.data import get_dataset_args, make_dataset

    state = np.random.get_state()  # make_dataset seeds numpy's global generator; leave it as found
    try:
        raw = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(state)
    lo, hi = np.percentile(raw["x"], [0.5, 99.5])

    def scale(x):
        return np.clip((x - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)[:, None, :]

    return Dataset("mnist1d", scale(raw["x"]), raw["y"].astype(np.int64),
                   scale(raw["x_test"]), raw["y_test"].astype(np.int64), 10)
