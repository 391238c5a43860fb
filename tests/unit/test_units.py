"""Sizes in prose: three significant digits, no scientific notation at any size."""

import pytest

from dockmagic.views.units import human_size


@pytest.mark.parametrize("size, shown", [
    (None, "?"), (0, "0 B"), (999, "999 B"), (1000, "1 kB"), (1536, "1.54 kB"), (999_499, "999 kB"),
    (999_999, "1 MB"), (1_990_000, "1.99 MB"), (10**12, "1 TB"), (10**15, "1 PB"), (10**18, "1 EB"),
    (10**24, "1000000 EB"),
])
def test_human_size(size, shown):
    assert human_size(size) == shown
