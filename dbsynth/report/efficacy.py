"""Machine-learning efficacy: train on synthetic, test on real (TSTR) against train on real (TRTR).

For each target column the *real* rows are split 70/30 with a fixed seed. One
scikit-learn HistGradientBoosting model is trained on the synthetic rows
(TSTR) and one on the real train rows (TRTR); both are scored on the real test
rows, next to a trivial baseline (majority class, or the train mean). A ratio
TSTR / TRTR near 1 says the synthetic rows serve this prediction task as well
as the real ones.

Features are the table's modelled columns: keys, foreign keys, personal data
and free text are dropped (the roles of `columns.column_role`). Categories are
ordinal codes fitted on the values of both sides, dates are seconds, booleans
0/1; NULLs stay missing (the model handles them).

A target is "TABLE.COLUMN". Without one, up to three are guessed: per table
with at least 200 real rows, the categorical column with 2 to 20 classes that
shares the most information with the table's other columns, else the numeric
column that does; a guess the real rows themselves predict no better than the
baseline is dropped. A key, foreign key, personal-data or free-text column is
refused as an explicit target (ConfigError): predicting an id says nothing
about the data.

Note that the synthetic rows were generated from *all* real rows, including
the test rows, so a generator that copies rows can score TSTR above TRTR: read
a ratio well above 1 with the privacy section.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dbsynth.errors import ConfigError
from dbsynth.report.columns import ColumnRole, column_role
from dbsynth.schema.model import Schema, Table

MAX_ROWS = 20_000        # per side and target; larger tables are sampled
MIN_GUESS_ROWS = 200     # a table needs this many real rows to have a target guessed
MAX_GUESSES = 3
GUESS_CLASSES = (2, 20)  # classes a guessed categorical target may have
MAX_CLASSES = 100        # an explicit categorical target may have at most this many
TEST_SHARE = 0.3
_FEATURE_SDTYPES = ("numerical", "datetime", "categorical", "boolean")
_MAX_CATEGORIES = 250    # HistGradientBoosting's limit is 255 bins; more codes are used as numbers
_MI_ROWS = 5_000

EXPLANATION = ("a model trained on synthetic rows, tested on real rows, compared with one trained on real rows "
               "(70/30 split of the real rows, HistGradientBoosting)")


@dataclass(frozen=True)
class EfficacyResult:
    table: str
    column: str
    task: str                       # "classification" or "regression"
    metric: str                     # "macro F1" or "R^2"
    trtr: float                     # trained on the real train rows, scored on the real test rows
    tstr: float                     # trained on the synthetic rows, scored on the real test rows
    ratio: float | None             # tstr / trtr; None when trtr <= 0
    baseline: float                 # majority class (classification) or train mean (regression)
    trtr_accuracy: float | None     # classification only
    tstr_accuracy: float | None
    baseline_accuracy: float | None
    classes: int | None             # distinct target values in the real rows (classification only)
    real_train_rows: int
    synthetic_train_rows: int
    test_rows: int
    features: tuple[str, ...]
    guessed: bool


def efficacy(real_frames: dict[str, pd.DataFrame], synthetic_frames: dict[str, pd.DataFrame], schema: Schema, *,
             target: str | None = None, seed: int = 0,
             roles: dict[str, dict[str, ColumnRole]] | None = None) -> list[EfficacyResult]:
    """TSTR and TRTR scores for `target` ("TABLE.COLUMN"), or for up to three guessed targets.

    `real_frames` / `synthetic_frames` are typed frames (`columns.typed_frame`) per table.
    Raises ConfigError when `target` is malformed, unknown or not predictable (a key, FK, PII or free text).
    """
    from threadpoolctl import threadpool_limits

    roles = roles or {t.name: {c.name: column_role(t, c, real_frames[t.name][c.name]) for c in t.columns}
                      for t in schema.tables}
    if target is not None:
        targets, guessed = [_resolve(target, schema, roles)], False
    else:
        targets, guessed = guess_targets(real_frames, schema, roles, seed=seed), True
    results = []
    # One OpenMP thread: these models are small, and on a busy machine more threads cost 10-20 times the time.
    with threadpool_limits(limits=1, user_api="openmp"):
        for table, column in targets:
            result = _evaluate(table, column, real_frames, synthetic_frames, roles, seed, guessed=guessed)
            if result is not None:
                results.append(result)
    return results


def guess_targets(real_frames: dict[str, pd.DataFrame], schema: Schema,
                  roles: dict[str, dict[str, ColumnRole]], *, seed: int = 0) -> list[tuple[Table, str]]:
    """At most three (table, column) targets, from the largest tables first."""
    tables = sorted((t for t in schema.tables if len(real_frames[t.name]) >= MIN_GUESS_ROWS),
                    key=lambda t: (-len(real_frames[t.name]), t.name))
    guesses = []
    for table in tables:
        features = _features(table, roles)
        if len(features) < 2:
            continue
        frame = real_frames[table.name]
        if len(frame) > _MI_ROWS:
            frame = frame.sample(_MI_ROWS, random_state=seed)
        codes = {c: _mi_codes(frame[c], roles[table.name][c].sdtype) for c in features}
        lo, hi = GUESS_CLASSES
        categorical = [c for c in features if roles[table.name][c].sdtype in ("categorical", "boolean")
                       and lo <= frame[c].nunique() <= hi]
        numeric = [c for c in features if roles[table.name][c].sdtype == "numerical" and frame[c].nunique() > 2]
        for candidates in (categorical, numeric):
            if candidates:
                best = max(candidates, key=lambda c: (_mean_mi(c, codes), c))
                guesses.append((table, best))
                break
        if len(guesses) == MAX_GUESSES:
            break
    return guesses


def efficacy_to_dict(results: list[EfficacyResult] | tuple[EfficacyResult, ...]) -> list[dict]:
    import dataclasses

    return [{**dataclasses.asdict(r), "features": list(r.features)} for r in results]


def _resolve(target: str, schema: Schema, roles: dict[str, dict[str, ColumnRole]]) -> tuple[Table, str]:
    table_name, dot, column_name = target.strip().partition(".")
    if not dot or not table_name or not column_name:
        raise ConfigError(f"efficacy target must be TABLE.COLUMN, not {target!r}")
    table = _by_name({t.name: t for t in schema.tables}, table_name)
    if table is None:
        raise ConfigError(f"no table {table_name!r} for the efficacy target {target!r}; tables: "
                          f"{_names(schema.table_names)}")
    column = _by_name({c: c for c in table.column_names}, column_name)
    if column is None:
        raise ConfigError(f"no column {column_name!r} in table {table.name!r} for the efficacy target; columns: "
                          f"{_names(table.column_names)}")
    role = roles[table.name][column]
    if column in table.pk_columns or column in table.fk_columns:
        kind = "primary key" if column in table.pk_columns else "foreign key"
        raise ConfigError(f"efficacy target {table.name}.{column} is a {kind}: predicting an id says nothing "
                          f"about the data; pick a non-key column such as {_suggest(table, roles)}")
    if role.sdtype not in _FEATURE_SDTYPES:
        raise ConfigError(f"efficacy target {table.name}.{column} cannot be predicted ({role.reason or role.sdtype}); "
                          f"pick another column such as {_suggest(table, roles)}")
    if len(_features(table, roles)) < 2:
        raise ConfigError(f"efficacy target {table.name}.{column} has no other modelled column to predict it from")
    return table, column


def _evaluate(table: Table, column: str, real_frames: dict[str, pd.DataFrame],
              synthetic_frames: dict[str, pd.DataFrame], roles: dict[str, dict[str, ColumnRole]], seed: int,
              *, guessed: bool) -> EfficacyResult | None:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import accuracy_score, f1_score, r2_score
    from sklearn.model_selection import train_test_split

    table_roles = roles[table.name]
    features = [c for c in _features(table, roles) if c != column]
    classify = table_roles[column].sdtype in ("categorical", "boolean")
    real = _sample(real_frames[table.name], seed).dropna(subset=[column])
    synthetic = _sample(synthetic_frames[table.name], seed).dropna(subset=[column])
    classes = int(real[column].nunique()) if classify else None
    if classify and classes > MAX_CLASSES:
        if guessed:
            return None
        raise ConfigError(f"efficacy target {table.name}.{column} has {classes} classes; at most {MAX_CLASSES} "
                          f"are predicted")
    if len(real) < 10 or len(synthetic) < 2 or (classify and classes < 2):
        if guessed:
            return None
        raise ConfigError(f"efficacy target {table.name}.{column} has too few non-NULL rows or values to predict "
                          f"({len(real)} real, {len(synthetic)} synthetic)")

    X_real, X_syn, categorical = _encode(real[features], synthetic[features], {c: table_roles[c].sdtype
                                                                              for c in features})
    if classify:
        labels = pd.Index(sorted(set(real[column].astype(str)) | set(synthetic[column].astype(str))))
        y_real = labels.get_indexer(real[column].astype(str))
        y_syn = labels.get_indexer(synthetic[column].astype(str))
    else:
        y_real, y_syn = _numbers(real[column]), _numbers(synthetic[column])
    idx_train, idx_test = train_test_split(np.arange(len(real)), test_size=TEST_SHARE, random_state=seed)

    def fit(X: np.ndarray, y: np.ndarray) -> np.ndarray:
        if classify and len(np.unique(y)) < 2:   # one class only: the model would refuse; predict it
            return np.full(len(idx_test), y[0])
        kind = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        many = classify and classes > 10   # one tree per class and iteration: fewer iterations
        model = kind(categorical_features=categorical if categorical.any() else None, random_state=seed,
                     max_iter=50 if many else 100)
        return model.fit(X, y).predict(X_real[idx_test])

    y_test = y_real[idx_test]
    trtr_pred, tstr_pred = fit(X_real[idx_train], y_real[idx_train]), fit(X_syn, y_syn)
    if classify:
        values, counts = np.unique(y_real[idx_train], return_counts=True)
        base_pred = np.full(len(y_test), values[np.argmax(counts)])

        def score(p: np.ndarray) -> float:
            return float(f1_score(y_test, p, average="macro", zero_division=0))

        accuracy = {k: float(accuracy_score(y_test, p)) for k, p in
                    (("trtr", trtr_pred), ("tstr", tstr_pred), ("base", base_pred))}
    else:
        base_pred = np.full(len(y_test), float(np.mean(y_real[idx_train])))

        def score(p: np.ndarray) -> float:
            return float(r2_score(y_test, p))

        accuracy = {"trtr": None, "tstr": None, "base": None}
    trtr, tstr, baseline = score(trtr_pred), score(tstr_pred), score(base_pred)
    if guessed and trtr <= baseline:   # not predictable even from real rows: says nothing about the copy
        return None
    return EfficacyResult(
        table=table.name, column=column, task="classification" if classify else "regression",
        metric="macro F1" if classify else "R^2", trtr=trtr, tstr=tstr,
        ratio=tstr / trtr if trtr > 0 else None, baseline=baseline,
        trtr_accuracy=accuracy["trtr"], tstr_accuracy=accuracy["tstr"], baseline_accuracy=accuracy["base"],
        classes=classes, real_train_rows=len(idx_train), synthetic_train_rows=len(synthetic),
        test_rows=len(idx_test), features=tuple(features), guessed=guessed,
    )


def _features(table: Table, roles: dict[str, dict[str, ColumnRole]]) -> list[str]:
    """Columns a model may use: modelled (not keys, personal data or free text)."""
    return [c for c in table.column_names if roles[table.name][c].sdtype in _FEATURE_SDTYPES]


def _encode(real: pd.DataFrame, synthetic: pd.DataFrame,
            sdtypes: dict[str, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both sides as float matrices: ordinal codes fitted on the union of values, dates as seconds."""
    real_cols, syn_cols, categorical = [], [], []
    for name, sdtype in sdtypes.items():
        r, s = real[name], synthetic[name]
        if sdtype in ("categorical", "boolean"):
            values = pd.Index(sorted(set(r.dropna().astype(str)) | set(s.dropna().astype(str))))
            real_cols.append(_codes(r, values))
            syn_cols.append(_codes(s, values))
            categorical.append(len(values) <= _MAX_CATEGORIES)
        else:
            real_cols.append(_numbers(r))
            syn_cols.append(_numbers(s))
            categorical.append(False)

    def stack(cols: list[np.ndarray], n: int) -> np.ndarray:
        return np.column_stack(cols) if cols else np.empty((n, 0))
    return stack(real_cols, len(real)), stack(syn_cols, len(synthetic)), np.array(categorical, dtype=bool)


def _codes(values: pd.Series, index: pd.Index) -> np.ndarray:
    codes = index.get_indexer(values.astype(str)).astype("float64")
    codes[values.isna().to_numpy() | (codes < 0)] = np.nan
    return codes


def _numbers(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(values):
        out = values.astype("int64").astype("float64") / 1e9
        out[values.isna().to_numpy()] = np.nan
        return out.to_numpy()
    return pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()


def _mi_codes(values: pd.Series, sdtype: str | None) -> np.ndarray:
    """Discrete codes for mutual information: categories as they are, numbers and dates in 10 quantile bins."""
    if sdtype in ("categorical", "boolean"):
        return pd.Series(values.astype(str).where(values.notna(), "<null>")).factorize()[0]
    numbers = pd.Series(_numbers(values))
    binned = pd.qcut(numbers.rank(method="first"), 10, labels=False, duplicates="drop") \
        if numbers.notna().sum() >= 10 else numbers
    return binned.fillna(-1).astype(int).to_numpy()


def _mean_mi(column: str, codes: dict[str, np.ndarray]) -> float:
    from sklearn.metrics import normalized_mutual_info_score

    others = [c for c in codes if c != column]
    return float(np.mean([normalized_mutual_info_score(codes[column], codes[c]) for c in others]))


def _sample(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    return frame.sample(MAX_ROWS, random_state=seed) if len(frame) > MAX_ROWS else frame


def _suggest(table: Table, roles: dict[str, dict[str, ColumnRole]]) -> str:
    names = [f"{table.name}.{c}" for c in _features(table, roles)]
    return ", ".join(names[:3]) if names else "a column of another table"


def _by_name(names: dict[str, object], wanted: str):
    if wanted in names:
        return names[wanted]
    folded = [v for k, v in names.items() if k.lower() == wanted.lower()]
    return folded[0] if len(folded) == 1 else None


def _names(names) -> str:
    shown = list(names)
    return ", ".join(shown[:12]) + (f" and {len(shown) - 12} more" if len(shown) > 12 else "")
