"""Sizes read the same in every view: the Python formatter and the widgets' JavaScript one agree."""

from __future__ import annotations

import json
import pathlib
import random
import shutil
import subprocess

import pytest

from dockmagic.views.units import human_size

UNITS_JS = pathlib.Path(__file__).resolve().parents[2] / "dockmagic" / "views" / "static" / "units.js"


def sample_sizes() -> list[int]:
    edges = [0, 1, 999, 1000, 1001, 1125, 1995, 9995, 31_200, 31_249, 31_250, 99_950, 999_499, 999_500,
             999_960, 10**6, 12_345_678, 2**40, 3 * 10**15, 10**18, 999_999 * 10**15, 10**24]
    generator = random.Random(11)
    # Every unit, and past the last one (exabytes).
    return edges + [int(10 ** generator.uniform(0, 25)) for _ in range(3000)]


def javascript_sizes(sizes: list[int]) -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: the JavaScript formatter cannot be compared (apt-get install nodejs)")
    # The widget's module, imported as it is shipped (its DOM code runs only when a view renders).
    script = (
        "const fs = require('fs');"
        f"const source = fs.readFileSync({json.dumps(str(UNITS_JS))}, 'utf8');"
        "import('data:text/javascript;base64,' + Buffer.from(source).toString('base64')).then((module) => {"
        f"  process.stdout.write(JSON.stringify({json.dumps(sizes)}.map(module.humanSize)));"
        "});"
    )
    result = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)


def test_python_sizes_read_as_a_person_expects():
    # The docker CLI's style, as `docker images` and `docker history` print sizes.
    assert [human_size(size) for size in (0, 77, 1000, 31_200, 1_990_000, 100_000_000)] == [
        "0B", "77B", "1kB", "31.2kB", "1.99MB", "100MB"]
    # Rounding up to the next unit says so, never "1e+03kB" nor "1000kB".
    assert human_size(999_960) == "1MB"
    assert human_size(None) == "?"


def test_javascript_and_python_agree_on_every_size():
    sizes = sample_sizes()
    assert javascript_sizes(sizes) == [human_size(size) for size in sizes]
