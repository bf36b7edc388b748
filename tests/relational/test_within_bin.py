"""Numbers keep the correlation that lives inside their quantile bins."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dbsynth.codecs.numeric import NumericCodec
from dbsynth.relational.within_bin import draw_positions, fit_within_bin


def _decoded(codecs: dict[str, NumericCodec], states: dict[str, np.ndarray], places: dict[str, np.ndarray],
             rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({name: codec.decode(states[name], rng, u=places.get(name)).astype(float)
                         for name, codec in codecs.items()})


def test_within_bin_positions_restore_the_correlation() -> None:
    rng = np.random.default_rng(0)
    length = rng.lognormal(5, 1, 4000)                     # a long tail: wide top bins
    size = length * 32 + rng.normal(0, 20, length.size)
    values = {"length": pd.Series(length), "size": pd.Series(size)}
    codecs = {name: NumericCodec.fit(v, "float") for name, v in values.items()}
    states = {name: codec.encode(values[name]) for name, codec in codecs.items()}
    model = fit_within_bin(codecs, values)
    assert model is not None and model["columns"] == ["length", "size"]
    assert np.asarray(model["correlation"])[0, 1] > 0.5

    real = np.corrcoef(length, size)[0, 1]
    independent = _decoded(codecs, states, {}, np.random.default_rng(1)).corr().iloc[0, 1]
    together = _decoded(codecs, states, draw_positions(model, length.size, np.random.default_rng(2)),
                        np.random.default_rng(1)).corr().iloc[0, 1]
    assert abs(together - real) < abs(independent - real) / 2, (real, independent, together)


def test_no_model_for_unrelated_or_single_columns() -> None:
    rng = np.random.default_rng(3)
    values = {"a": pd.Series(rng.normal(size=2000)), "b": pd.Series(rng.normal(size=2000))}
    codecs = {name: NumericCodec.fit(v, "float") for name, v in values.items()}
    assert fit_within_bin(codecs, values) is None
    assert fit_within_bin({"a": codecs["a"]}, {"a": values["a"]}) is None
