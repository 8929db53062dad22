from __future__ import annotations

from decimal import Decimal

import pytest
from handtracker_operator import quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", 1), ("500m", Decimal("0.5")), ("1Gi", 2**30), ("512Mi", 512 * 2**20),
     ("1k", 1000), ("2e3", 2000), (3, 3), ("0.5", Decimal("0.5")), ("100n", Decimal("1e-7"))],
)
def test_quantities_parse_in_every_suffix(text: object, value: object) -> None:
    assert quantity.parse(text) == value


@pytest.mark.parametrize("text", ["", "lots", "1Qi", "1.2.3", "Gi"])
def test_what_is_no_quantity_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        quantity.parse(text)


def test_quantities_compare_by_value_not_spelling() -> None:
    assert quantity.equal("1", "1000m")
    assert quantity.equal("1Gi", "1024Mi")
    assert not quantity.equal("1", "1001m")
    assert not quantity.equal("abc", "abc")  # not quantities: the caller compares them
