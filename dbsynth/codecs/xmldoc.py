"""XML values (PostgreSQL xml): the source's element structure, fresh leaf values.

An XML value is read as a nested document - an element's attributes as ``@name``
keys, its child elements as keys (repeated children as a list), mixed text as
``#text``, a text-only element as a string leaf - and modelled by `JsonCodec`,
which keeps the common key structure and models the leaves (lorem words for free
text, never a source string). Decoding rebuilds elements from those documents with
ElementTree, so every value is well-formed XML: PostgreSQL checks it on insert.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from dbsynth.codecs.jsondoc import JsonCodec

_WRAPPER = "dbsynth-root"
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_NAME = re.compile(r"^(\{[^}]*\})?[A-Za-z_][\w.\-]*$")


def xml_document(v: Any) -> dict[str, Any] | None:
    """The nested document of an XML value (content or document); None when it does not parse."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    text = _DECLARATION.sub("", str(v), count=1)
    try:
        root = ET.fromstring(f"<{_WRAPPER}>{text}</{_WRAPPER}>")
    except ET.ParseError:
        return None
    return _as_dict(root)


def _as_dict(elem: ET.Element) -> dict[str, Any]:
    out: dict[str, Any] = {f"@{k}": v for k, v in elem.attrib.items()}
    text = (elem.text or "").strip()
    if text and len(elem):
        out["#text"] = text
    for child in elem:
        value: Any = _as_dict(child) if (len(child) or child.attrib) else (child.text or "").strip()
        if isinstance(value, dict) and not len(child) and (child.text or "").strip():
            value["#text"] = (child.text or "").strip()
        if child.tag in out:
            out[child.tag] = (out[child.tag] if isinstance(out[child.tag], list) else [out[child.tag]]) + [value]
        else:
            out[child.tag] = value
    if text and not len(elem) and elem.tag == _WRAPPER:
        out["#text"] = text
    return out


def xml_text(doc: Any, fallback_root: str | None) -> str:
    """Well-formed XML content for a document built by `_as_dict`'s rules."""
    wrapper = ET.Element(_WRAPPER)
    if isinstance(doc, dict):
        _fill(wrapper, doc)
    if not len(wrapper) and fallback_root:
        ET.SubElement(wrapper, fallback_root)
    text = ET.tostring(wrapper, encoding="unicode")
    return re.sub(rf"^<{_WRAPPER}\s*/>$|^<{_WRAPPER}>|</{_WRAPPER}>$", "", text)


def _fill(elem: ET.Element, doc: dict[str, Any]) -> None:
    for key, value in doc.items():
        if key == "#text":
            elem.text = _leaf(value)
        elif key.startswith("@"):
            if _NAME.match(key[1:]) and value is not None:
                elem.set(key[1:], _leaf(value))
        elif _NAME.match(key):
            for item in value if isinstance(value, list) else [value]:
                child = ET.SubElement(elem, key)
                if isinstance(item, dict):
                    _fill(child, item)
                elif item is not None:
                    child.text = _leaf(item)


def _leaf(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return "" if v is None else str(v)


class XmlCodec:
    kind = "xml"

    def __init__(self, documents: JsonCodec, root: str | None) -> None:
        self.documents = documents
        self.root = root     # the most frequent top element: a value left with no element gets it
        self.n_states = documents.n_states

    @classmethod
    def fit(cls, values: pd.Series, name: str = "value") -> XmlCodec:
        docs = _documents(values)
        tops = Counter(k for d in docs.dropna() for k in d if not k.startswith(("@", "#")))
        return cls(JsonCodec.fit(docs, name=name, text_input=False), tops.most_common(1)[0][0] if tops else None)

    def encode(self, values: pd.Series) -> np.ndarray:
        return self.documents.encode(_documents(values))

    def decode(self, states: np.ndarray, rng: np.random.Generator) -> pd.Series:
        docs = self.documents.decode(states, rng)
        return pd.Series([None if d is None or (isinstance(d, float) and np.isnan(d)) else xml_text(d, self.root)
                          for d in docs.to_numpy(dtype=object)], dtype=object)

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "documents": self.documents.to_state(), "root": self.root}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> XmlCodec:
        return cls(JsonCodec.from_state(s["documents"]), s["root"])


def _documents(values: pd.Series) -> pd.Series:
    return pd.Series([xml_document(v) for v in values.to_numpy(dtype=object)], index=values.index, dtype=object)
