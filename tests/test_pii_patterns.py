"""Personal data by value patterns: IBAN (mod-97), card numbers (Luhn), SSNs, IP addresses, e-mails in text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dbsynth.codecs.fake import PROVIDERS, fake_values
from dbsynth.pii import PiiMatch, detect, is_card_number, is_iban, is_ssn
from dbsynth.schema.model import Column, SqlType

RNG = np.random.default_rng(7)


def col(name: str = "value") -> Column:
    return Column(name, SqlType("text"))


def luhn_complete(body: str) -> str:
    """`body` plus the check digit that makes it pass Luhn."""
    for check in "0123456789":
        if is_card_number(body + check):
            return body + check
    raise AssertionError(body)


def iban(country: str, bban: str) -> str:
    """A valid IBAN: check digits computed by ISO 13616 (98 - n mod 97)."""
    n = int("".join(str(int(ch, 36)) for ch in bban + country + "00"))
    return f"{country}{98 - n % 97:02d}{bban}"


def random_digits(n: int, length: int) -> list[str]:
    return ["".join(map(str, RNG.integers(0, 10, length))) for _ in range(n)]


@pytest.mark.parametrize("value,valid", [
    ("GB82WEST12345698765432", True),
    ("GB82 WEST 1234 5698 7654 32", True),
    ("DE89370400440532013000", True),
    ("FR1420041010050500013M02606", True),
    ("GB83WEST12345698765432", False),   # check digits off by one
    ("GB82WEST12345698765433", False),   # a typo in the account
    ("GB82WEST123", False),              # too short
    ("12345678901234567890", False),
])
def test_iban_check(value, valid):
    assert is_iban(value) is valid


@pytest.mark.parametrize("value,valid", [
    ("4111111111111111", True),
    ("4111 1111 1111 1111", True),
    ("5500-0000-0000-0004", True),
    ("378282246310005", True),           # 15 digits (Amex)
    ("4111111111111112", False),         # Luhn fails
    ("411111111111", False),             # 12 digits
    ("41111111111111111111", False),     # 20 digits
    ("4111x1111x1111x1111", False),
])
def test_card_number_check(value, valid):
    assert is_card_number(value) is valid


@pytest.mark.parametrize("value,valid", [
    ("123-45-6789", True), ("078-05-1120", True),
    ("000-12-3456", False), ("666-12-3456", False), ("912-12-3456", False),
    ("123-00-4567", False), ("123-45-0000", False), ("123456789", False), ("123-456-789", False),
])
def test_ssn_format(value, valid):
    assert is_ssn(value) is valid


def test_ibans_are_detected_by_their_values():
    values = pd.Series([iban("GB", "WEST" + d) for d in random_digits(100, 14)] + [None] * 10)
    assert all(is_iban(v) for v in values.dropna())
    assert detect(col("account"), values) == PiiMatch("iban", "values")


def test_iban_shaped_values_with_wrong_checksums_are_not_ibans():
    values = pd.Series([v[:2] + f"{(int(v[2:4]) + 1) % 100:02d}" + v[4:]
                        for v in (iban("DE", d) for d in random_digits(100, 18))])
    assert detect(col("account"), values) is None


def test_fake_ibans_are_detected():
    values = pd.Series(fake_values("iban", 100, np.random.default_rng(0)))
    assert detect(col("account"), values) == PiiMatch("iban", "values")


@pytest.mark.parametrize("sep", ["", " ", "-"])
def test_card_numbers_are_detected_by_their_values(sep):
    numbers = [luhn_complete("4" + d) for d in random_digits(100, 14)]
    values = pd.Series([sep.join(n[i:i + 4] for i in range(0, 16, 4)) for n in numbers])
    assert detect(col("pay_with"), values) == PiiMatch("credit_card_number", "values")


def test_random_sixteen_digit_references_are_not_card_numbers():
    values = pd.Series(random_digits(200, 16))
    assert 0.03 < values.map(is_card_number).mean() < 0.2  # about one in ten passes Luhn by chance
    assert detect(col("reference"), values) is None


def test_fake_card_numbers_are_detected():
    values = pd.Series(fake_values("credit_card_number", 100, np.random.default_rng(0)))
    assert detect(col("pay_with"), values) == PiiMatch("credit_card_number", "values")


def test_ssns_are_detected_by_their_values():
    values = pd.Series([f"{a:03d}-{g:02d}-{s:04d}" for a, g, s in zip(RNG.integers(1, 666, 100),
                                                                       RNG.integers(1, 100, 100),
                                                                       RNG.integers(1, 10_000, 100))])
    assert detect(col("tax_ref"), values) == PiiMatch("ssn", "values")
    assert detect(col("tax_ref"), pd.Series(fake_values("ssn", 100, np.random.default_rng(0)))) == \
        PiiMatch("ssn", "values")


def test_ipv4_must_parse():
    assert detect(col("origin"), pd.Series([f"{a}.1.2.3" for a in range(300, 400)])) is None


def test_ipv6_addresses_are_detected_by_their_values():
    values = pd.Series([f"2001:db8:{i:x}::{i * 7:x}" for i in range(1, 101)] + ["fe80::1", "::1"])
    provider = "ipv6" if "ipv6" in PROVIDERS else "ipv4"  # IPv4 fakes until the fake codecs offer IPv6
    assert detect(col("origin"), values) == PiiMatch(provider, "values")


def test_mixed_ip_versions_are_not_one_version():
    values = pd.Series([f"10.0.0.{i}" for i in range(50)] + [f"2001:db8::{i:x}" for i in range(50)])
    assert detect(col("origin"), values) is None


def test_free_text_with_e_mails_is_personal_data():
    notes = [f"Call back tomorrow about order {i}" for i in range(75)]
    mails = [f"Customer asked to write to jane.doe{i}@example.com instead" for i in range(25)]
    assert detect(col("comment"), pd.Series(notes + mails)) == PiiMatch("word", "values")


def test_free_text_with_a_few_e_mails_is_not():
    notes = [f"Call back tomorrow about order {i}" for i in range(90)]
    mails = [f"write to jane.doe{i}@example.com" for i in range(10)]
    assert detect(col("comment"), pd.Series(notes + mails)) is None


def test_name_rules_come_first():
    values = pd.Series([luhn_complete("4" + d) for d in random_digits(50, 14)])
    assert detect(col("email"), values) == PiiMatch("email", "name")
