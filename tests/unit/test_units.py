"""Sizes in prose: three significant digits, no scientific notation at any size."""

import pytest

from dockmagic.views.units import human_size


@pytest.mark.parametrize("size, shown", [
    (None, "?"), (0, "0B"), (999, "999B"), (1000, "1kB"), (1536, "1.54kB"), (999_499, "999kB"),
    (999_999, "1MB"), (1_990_000, "1.99MB"), (10**12, "1TB"), (10**15, "1PB"), (10**18, "1EB"),
    (10**24, "1000000EB"),
])
def test_human_size(size, shown):
    assert human_size(size) == shown
