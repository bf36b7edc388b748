"""JSON documents (json, jsonb, MySQL/MariaDB JSON): learn the key structure and model the leaves.

A document is flattened into *key paths* (``meta.source``) and leaf values; a
*slot* is a key path with one kind of value (a key holding numbers in some
documents and text in others has two slots). What is learned:

- the slots seen in at least two documents (at most ``MAX_PATHS``, the most
  frequent: a document keyed by ids keeps only its common keys), in source order;
- the *patterns*: which of those slots a document has (optional keys stay
  optional, nested objects keep their shape);
- per slot, a leaf codec, the one the leaf would get as a column of its own:
  quantile bins for numbers, categories for booleans and low-cardinality strings,
  word counts with lorem words for free text (never a source string), Faker for
  personal data found by key name or value pattern, ISO dates as dates, arrays
  as arrays of such leaves (recursively), JSON null as the leaf's NULL state;
- a *lead* leaf: the low-cardinality category that tells most about the
  pattern (an event's ``type``), whose value the other leaves are conditioned on.

The column's model state is a *profile*: a pattern together with the lead
value, so the document's shape and kind correlate with the other columns of
the row. Decoding picks the profile's slots, draws each leaf's state from its
frequencies within that profile (smoothed towards the leaf's overall
frequencies) and rebuilds the nested objects.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from dbsynth.codecs import Codec, codec_from_state
from dbsynth.codecs.array import ArrayCodec, python_values
from dbsynth.codecs.categorical import MIN_COUNT, CategoricalCodec
from dbsynth.codecs.jsonvalues import (
    ConstantCodec, Path, cleaned, flatten, json_values, leaf_type_of, parse, put_at, slot_kind, to_text,
)
from dbsynth.codecs.numeric import NumericCodec

MAX_PATHS = 32          # slots (key path, kind of value) kept, all levels together: the most frequent
MAX_PATTERNS = 24       # sets of present slots kept: the most frequent
MAX_PROFILES = 40       # pattern x lead value combinations kept as model states
LEAD_MAX_CATEGORIES = 8
LEAD_MIN_PRESENCE = 0.5



class JsonCodec:
    kind = "json"

    def __init__(self, paths: list[list[str]], kinds: list[str], counts: list[int], leaf_types: list[str],
                 leaves: list[Codec], patterns: list[list[int]], lead: int | None, profiles: list[list[int]],
                 weights: list[list[list[float]]], has_null: bool, as_text: bool = False,
                 max_length: int | None = None, text_input: bool | None = None) -> None:
        # One *slot* per kept (key path, kind of value): a key holding numbers in some documents and
        # text in others has two slots, each with a leaf codec of one type.
        self.paths: list[Path] = [tuple(p) for p in paths]
        self.kinds = list(kinds)             # bool | number | string | array | object | null
        self.counts = [int(c) for c in counts]  # documents with the slot (JSON nulls at its key included)
        self.leaf_types = list(leaf_types)   # the kind refined: integer, float, date, datetime...
        self.leaves = list(leaves)
        self.patterns = [list(p) for p in patterns]
        self.lead = lead
        self.profiles = [(int(p), int(lead_state)) for p, lead_state in profiles]
        self.weights = [[np.asarray(w, dtype=float) for w in per_slot] for per_slot in weights]
        self.has_null = has_null
        self.as_text = as_text          # decoded values are JSON text (a TEXT column holding JSON)
        self.text_input = as_text if text_input is None else text_input  # source values are JSON text
        self.max_length = max_length    # of that text: a VARCHAR(n) column
        self._slot_index = {(p, k): i for i, (p, k) in enumerate(zip(self.paths, self.kinds))}
        self._default_slot: dict[Path, int] = {}   # where a JSON null (or a rare kind) at a key goes
        for i, p in enumerate(self.paths):
            if p not in self._default_slot or self.counts[i] > self.counts[self._default_slot[p]]:
                self._default_slot[p] = i
        self._profile_index = {p: i for i, p in enumerate(self.profiles)}
        self._nearest_cache: dict[frozenset[int], int] = {}
        self.n_states = len(self.profiles) + int(has_null)

    @property
    def null_state(self) -> int | None:
        return len(self.profiles) if self.has_null else None

    # -- fitting ----------------------------------------------------------------------------------

    @classmethod
    def fit(cls, values: pd.Series, as_text: bool = False, name: str = "value",
            max_length: int | None = None, text_input: bool | None = None) -> JsonCodec:
        """`as_text`: write JSON text, not documents; `text_input`: the values are JSON text (default: as_text)."""
        text_input = as_text if text_input is None else text_input
        flats = [flatten(parse(v, text_input)) for v in values.dropna()]
        has_null = bool(values.isna().any())
        slots = _kept_slots(flats)
        codec = cls([list(p) for p, _, _ in slots], [k for _, k, _ in slots], [c for _, _, c in slots],
                    [], [], [[]], None, [[0, -1]], [[]], has_null, as_text, max_length, text_input)
        docs = [codec._slots(f) for f in flats]
        for i, p in enumerate(codec.paths):
            raw = [d[i] for d in docs if i in d]
            leaf_type = leaf_type_of(raw) if codec.kinds[i] != "null" else "null"
            codec.leaf_types.append(leaf_type)
            codec.leaves.append(_leaf_codec(leaf_type, pd.Series(cleaned(raw, leaf_type), dtype=object),
                                            p[-1] if p else name))

        present = [frozenset(d) for d in docs]
        pattern_counts = Counter(present)
        patterns = [sorted(s) for s, c in sorted(pattern_counts.items(), key=lambda kv: (-kv[1], sorted(kv[0])))
                    if c >= MIN_COUNT][:MAX_PATTERNS]
        if not patterns:  # every document has its own set of keys: one pattern of the common ones
            patterns = [[i for i, c in enumerate(codec.counts) if c >= LEAD_MIN_PRESENCE * len(docs)]]
        codec.patterns = patterns
        assigned = [codec._nearest(s) for s in present]
        codec.lead = _choose_lead(codec, docs, assigned)
        lead_states = codec._lead_states(docs, assigned)

        combos = Counter(zip(assigned, lead_states))
        profiles = [list(k) for k, _ in sorted(combos.items(), key=lambda kv: (-kv[1], kv[0]))][:MAX_PROFILES]
        for pat in range(len(patterns)):  # every pattern stays reachable
            if not any(p == pat for p, _ in profiles):
                profiles.append([pat, -1])
        codec.profiles = [(p, lead_state) for p, lead_state in profiles]
        codec._profile_index = {p: i for i, p in enumerate(codec.profiles)}
        doc_profiles = [codec._profile(pat, lead_state) for pat, lead_state in zip(assigned, lead_states)]
        codec.weights = codec._leaf_weights(docs, doc_profiles)
        codec.n_states = len(codec.profiles) + int(has_null)
        return codec

    def _leaf_weights(self, docs: list[dict[int, Any]], doc_profiles: list[int]) -> list[list[np.ndarray]]:
        """Per profile and pattern slot: leaf-state frequencies, smoothed towards the leaf's marginal."""
        states: dict[int, np.ndarray] = {}
        has: dict[int, np.ndarray] = {}
        for i, leaf in enumerate(self.leaves):
            has[i] = np.array([i in d for d in docs], dtype=bool)
            states[i] = np.zeros(len(docs), dtype=np.int64)
            if has[i].any():
                raw = pd.Series(cleaned([d[i] for d in docs if i in d], self.leaf_types[i]), dtype=object)
                states[i][has[i]] = leaf.encode(raw)
        profile_of = np.asarray(doc_profiles, dtype=np.int64)
        weights: list[list[np.ndarray]] = []
        for k, (pat, _) in enumerate(self.profiles):
            per_slot = []
            for i in self.patterns[pat]:
                n = self.leaves[i].n_states
                marginal = np.bincount(states[i][has[i]], minlength=n).astype(float)
                marginal = marginal / marginal.sum() if marginal.sum() else np.full(n, 1.0 / n)
                local = np.bincount(states[i][has[i] & (profile_of == k)], minlength=n).astype(float)
                per_slot.append(np.round(local + marginal, 4))
            weights.append(per_slot)
        return weights

    # -- encoding ---------------------------------------------------------------------------------

    def encode(self, values: pd.Series) -> np.ndarray:
        isnull = values.isna().to_numpy(dtype=bool)
        states = np.zeros(len(values), dtype=np.int64)
        rows = np.flatnonzero(~isnull)
        docs = [self._slots(flatten(parse(values.iloc[r], self.text_input))) for r in rows]
        patterns = [self._nearest(frozenset(d)) for d in docs]
        for r, pat, lead_state in zip(rows, patterns, self._lead_states(docs, patterns)):
            states[r] = self._profile(pat, lead_state)
        if self.has_null:
            states[isnull] = self.null_state
        return states

    def _slots(self, flat: dict[Path, Any]) -> dict[int, Any]:
        """A flattened document as slot -> value; keys that were not kept are left out."""
        out: dict[int, Any] = {}
        for path, value in flat.items():
            kind = slot_kind(value)
            slot = self._slot_index.get((path, kind)) if kind is not None else None
            if slot is None:  # JSON null, or a kind too rare to have a slot: null at the key's main slot
                slot, value = self._default_slot.get(path), None
            if slot is not None:
                out[slot] = value
        return out

    def _nearest(self, present: frozenset[int]) -> int:
        """The pattern equal to `present`, else the most similar (Jaccard), the more frequent on ties."""
        if present not in self._nearest_cache:
            best, best_score = 0, -1.0
            for k, pat in enumerate(self.patterns):
                s = set(pat)
                union = len(s | present)
                score = len(s & present) / union if union else 1.0
                if score > best_score:
                    best, best_score = k, score
            self._nearest_cache[present] = best
        return self._nearest_cache[present]

    def _lead_states(self, docs: list[dict[int, Any]], patterns: list[int]) -> list[int]:
        """The lead leaf's state per document; -1 where the document or its pattern has no lead."""
        lead = self.lead
        if lead is None:
            return [-1] * len(docs)
        values = pd.Series(cleaned([d[lead] for d in docs if lead in d], self.leaf_types[lead]), dtype=object)
        encoded = iter(self.leaves[lead].encode(values).tolist() if len(values) else [])
        states = [int(next(encoded)) if lead in d else -1 for d in docs]
        return [s if lead in self.patterns[pat] else -1 for s, pat in zip(states, patterns)]

    def _profile(self, pattern: int, lead_state: int) -> int:
        for key in ((pattern, lead_state), (pattern, -1)):
            if key in self._profile_index:
                return self._profile_index[key]
        return next((i for i, (p, _) in enumerate(self.profiles) if p == pattern), 0)

    # -- decoding ---------------------------------------------------------------------------------

    def decode(self, states: np.ndarray, rng: np.random.Generator) -> pd.Series:
        out = np.full(states.shape[0], None, dtype=object)
        for k, (pat, lead_state) in enumerate(self.profiles):
            rows = np.flatnonzero(states == k)
            if not rows.size:
                continue
            docs: list[Any] = [{} for _ in rows]
            for j, i in enumerate(self.patterns[pat]):
                leaf = self.leaves[i]
                if i == self.lead and lead_state >= 0:
                    leaf_states = np.full(rows.size, lead_state, dtype=np.int64)
                else:
                    w = self.weights[k][j]
                    leaf_states = rng.choice(leaf.n_states, size=rows.size, p=w / w.sum()).astype(np.int64)
                leaf_values = json_values(python_values(leaf.decode(leaf_states, rng)), self.leaf_types[i])
                for d, (doc, value) in enumerate(zip(docs, leaf_values)):
                    docs[d] = put_at(doc, self.paths[i], value)
            for r, doc in zip(rows, docs):
                out[r] = to_text(doc, self.max_length) if self.as_text else doc
        return pd.Series(out, dtype=object)

    # -- state --------------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "paths": [list(p) for p in self.paths], "kinds": self.kinds,
                "counts": self.counts, "leaf_types": self.leaf_types,
                "leaves": [leaf.to_state() for leaf in self.leaves], "patterns": self.patterns,
                "lead": self.lead, "profiles": [list(p) for p in self.profiles],
                "weights": [[w.tolist() for w in per_slot] for per_slot in self.weights],
                "has_null": self.has_null, "as_text": self.as_text, "max_length": self.max_length,
                "text_input": self.text_input}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> JsonCodec:
        return cls(s["paths"], s["kinds"], s["counts"], s["leaf_types"],
                   [codec_from_state(leaf) for leaf in s["leaves"]], s["patterns"], s["lead"], s["profiles"],
                   s["weights"], s["has_null"], s.get("as_text", False), s.get("max_length"),
                   s.get("text_input"))


def _kept_slots(flats: list[dict[Path, Any]]) -> list[tuple[Path, str, int]]:
    """(path, kind, documents) of the slots seen in >= MIN_COUNT documents, at most MAX_PATHS, in source order.

    A JSON null counts for its key's most frequent kind (it becomes that leaf's NULL state);
    a key that only ever holds null has a slot of kind "null".
    """
    counts: Counter[tuple[Path, str]] = Counter()
    nulls: Counter[Path] = Counter()
    first_seen: dict[tuple[Path, str], int] = {}
    for f in flats:
        for path, value in f.items():
            kind = slot_kind(value)
            if kind is None:
                nulls[path] += 1
                first_seen.setdefault((path, "null"), len(first_seen))
            else:
                counts[(path, kind)] += 1
                first_seen.setdefault((path, kind), len(first_seen))
    main: dict[Path, tuple[Path, str]] = {}
    for slot, c in counts.items():
        if slot[0] not in main or c > counts[main[slot[0]]]:
            main[slot[0]] = slot
    for path, c in nulls.items():
        if path in main:
            counts[main[path]] += c
        else:
            counts[(path, "null")] = c
    kept = [(slot, c) for slot, c in counts.most_common() if c >= MIN_COUNT or slot[0] == ()][:MAX_PATHS]
    kept.sort(key=lambda sc: first_seen.get(sc[0], len(first_seen)))
    return [(path, kind, c) for (path, kind), c in kept]


def _leaf_codec(leaf_type: str, values: pd.Series, key: str) -> Codec:
    if leaf_type == "bool":
        return CategoricalCodec.fit(values, min_count=1)
    if leaf_type in ("integer", "float"):
        return NumericCodec.fit(values, leaf_type)
    if leaf_type in ("date", "datetime"):
        aware = any(str(v).endswith("Z") or re.search(r"[+-]\d{2}:?\d{2}$", str(v)) for v in values.dropna())
        return NumericCodec.fit(values, leaf_type, timezone=aware)
    if leaf_type == "array":
        return ArrayCodec.fit(values, lambda items: _element_codec(items, key), flatten=False)
    if leaf_type == "object":
        return ConstantCodec.fit(values, {})
    if leaf_type == "null":
        return ConstantCodec.fit(values, None)
    return _string_codec(values, key)


def _element_codec(items: pd.Series, key: str) -> Codec:
    """Elements of a JSON array: a plain leaf codec for booleans, numbers or text (so an array of
    distinct tags stays distinct), a JSON codec of its own for objects, arrays, dates or a mix."""
    present = [v for v in items if v is not None]
    leaf_type = leaf_type_of(present)
    if len({slot_kind(v) for v in present}) == 1 and leaf_type in ("bool", "integer", "float", "string"):
        return _leaf_codec(leaf_type, pd.Series(cleaned(list(items), leaf_type), dtype=object), key)
    return JsonCodec.fit(items, name=key)


def _string_codec(values: pd.Series, key: str) -> Codec:
    """A string leaf is coded like a text column named after its key (PII and free text included)."""
    from dbsynth.codecs.choose import choose_codec
    from dbsynth.pii import detect
    from dbsynth.schema.model import Column, SqlType

    column = Column(key, SqlType("text"))
    return choose_codec("json", column, values, detect(column, values))


def _choose_lead(codec: JsonCodec, docs: list[dict[int, Any]], assigned: list[int]) -> int | None:
    """The category leaf that tells most about the document's pattern (then: most present, most informative)."""
    best: tuple[float, float, float] | None = None
    lead = None
    patterns = np.asarray(assigned, dtype=np.int64)
    for i, leaf in enumerate(codec.leaves):
        if not isinstance(leaf, CategoricalCodec) or not 2 <= len(leaf.categories) <= LEAD_MAX_CATEGORIES:
            continue
        has = np.array([i in d for d in docs], dtype=bool)
        presence = float(has.mean()) if has.size else 0.0
        if presence < LEAD_MIN_PRESENCE:
            continue
        values = pd.Series(cleaned([d[i] for d in docs if i in d], codec.leaf_types[i]), dtype=object)
        states = leaf.encode(values)
        key = (round(_information(states, patterns[has]), 6), presence, _entropy(states))
        if best is None or key > best:
            best, lead = key, i
    return lead


def _entropy(x: np.ndarray) -> float:
    p = np.bincount(x) / max(x.size, 1)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _information(x: np.ndarray, y: np.ndarray) -> float:
    """Mutual information (nats) of two state arrays."""
    if x.size == 0:
        return 0.0
    joint = x.astype(np.int64) * (int(y.max()) + 1) + y
    return _entropy(x) + _entropy(y) - _entropy(np.unique(joint, return_inverse=True)[1])


