"""Personal-data detection by column name and by values; semantic providers for real-world domains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dbsynth.pii import PiiMatch, detect, normalise, semantic_provider
from dbsynth.schema.model import Column, SqlType


def text_col(name: str, kind: str = "text") -> Column:
    return Column(name, SqlType(kind))


@pytest.mark.parametrize("name,provider", [
    ("first_name", "first_name"),
    ("FirstName", "first_name"),
    ("firstname", "first_name"),
    ("last_name", "last_name"),
    ("Surname", "last_name"),
    ("customer_name", "name"),
    ("email", "email"),
    ("Email", "email"),
    ("contact_email", "email"),
    ("e_mail", "email"),
    ("phone", "phone_number"),
    ("Phone", "phone_number"),
    ("fax", "phone_number"),
    ("mobile_number", "phone_number"),
    ("phoneNumber", "phone_number"),
    ("address", "street_address"),
    ("Address", "street_address"),
    ("billing_address", "street_address"),
    ("address_line2", "street_address"),
    ("billing_postal_code", "postcode"),
    ("PostalCode", "postcode"),
    ("zip", "postcode"),
    ("company", "company"),
    ("user_name", "user_name"),
    ("ip", "ipv4"),
    ("ssn", "ssn"),
    ("iban", "iban"),
    ("credit_card", "credit_card_number"),
])
def test_personal_columns_are_detected_by_name(name, provider):
    assert detect(text_col(name), None) == PiiMatch(provider, "name")


@pytest.mark.parametrize("name", ["name", "title", "genre_name", "total", "Name", "track_name",
                                  "description", "telescope", "zipper_size", "emailed", "composer",
                                  "unit_price", "city", "country"])
def test_non_personal_columns_are_not_detected(name):
    values = pd.Series(["Rock", "Jazz", "Metal", "Blues"] * 10)
    assert detect(text_col(name), values) is None
    assert detect(text_col(name), None) is None


def test_only_text_like_columns_are_considered():
    assert detect(Column("phone", SqlType("integer")), pd.Series([5551234567] * 10)) is None
    assert detect(Column("email_verified", SqlType("boolean")), pd.Series([True, False])) is None
    assert detect(Column("email", SqlType("other")), None) == PiiMatch("email", "name")


def test_emails_are_detected_by_their_values():
    values = pd.Series([f"user{i}@mail{i % 7}.example.org" for i in range(100)] + [None] * 20)
    assert detect(text_col("contact"), values) == PiiMatch("email", "values")


def test_a_few_email_values_are_not_enough():
    values = pd.Series([f"user{i}@mail.example.org" for i in range(30)] + [f"note {i}" for i in range(70)])
    assert detect(text_col("contact"), values) is None


def test_phone_numbers_are_detected_by_their_values():
    rng = np.random.default_rng(0)
    values = pd.Series([f"+1 ({a}) {b}-{c:04d}" for a, b, c in zip(rng.integers(200, 999, 80),
                                                                    rng.integers(200, 999, 80),
                                                                    rng.integers(0, 9999, 80))])
    assert detect(text_col("contact"), values) == PiiMatch("phone_number", "values")


def test_ip_address_column_name_gets_the_ipv4_provider():
    assert detect(text_col("ip_address"), None) == PiiMatch("ipv4", "name")


def test_ip_addresses_are_detected_by_their_values():
    values = pd.Series([f"10.0.{i}.{i * 7 % 255}" for i in range(100)])
    assert detect(text_col("origin"), values) == PiiMatch("ipv4", "values")


def test_plain_integers_as_text_are_not_phone_numbers():
    values = pd.Series([str(v) for v in np.random.default_rng(1).integers(1_000_000, 999_999_999, 200)])
    assert values.str.len().min() >= 7  # long enough to look like a phone number
    assert detect(text_col("reference"), values) is None


def test_decimal_amounts_as_text_are_not_phone_numbers():
    values = pd.Series([f"{v / 100:.2f}" for v in np.random.default_rng(2).integers(100_000, 10_000_000, 200)])
    assert detect(text_col("amount_text"), values) is None


def test_all_null_values_are_not_detected():
    assert detect(text_col("contact"), pd.Series([None, None], dtype=object)) is None


@pytest.mark.parametrize("raw,norm", [
    ("FirstName", "first_name"),
    ("billing-postal code", "billing_postal_code"),
    ("  EMAIL ", "email"),
    ("addressLine1", "address_line1"),
])
def test_normalise(raw, norm):
    assert normalise(raw) == norm


@pytest.mark.parametrize("name,provider", [
    ("city", "city"),
    ("BillingCity", "city"),
    ("state", "state"),
    ("state_province", "state"),
    ("region", "state"),
    ("country", "country"),
    ("billing_country", "country"),
    ("name", None),
    ("estate_value", None),
    ("genre_name", None),
])
def test_semantic_provider(name, provider):
    assert semantic_provider(text_col(name)) == provider
