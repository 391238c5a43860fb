"""The package parsers on real records: four stanzas of debian:bookworm's own /var/lib/dpkg/status, the
METADATA and RECORD of six as pip installed it in the project's venv, and a conda-meta file in
conda-forge's format (numpy 1.26.4's fields, its path list cut to one file)."""

import pathlib

from dockmagic.parsing.packages import (
    Package,
    is_package_record,
    packages_from_records,
    parse_conda_meta,
    parse_dpkg_status,
    parse_pip_metadata,
    record_size,
)

SAMPLES = pathlib.Path(__file__).parent / "package_samples"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text()


def test_dpkg_status_lists_installed_packages_with_bytes():
    assert parse_dpkg_status(sample("dpkg-status")) == [
        Package("dpkg", "adduser", "3.134", 686 * 1024),
        Package("dpkg", "apt", "2.6.1", 4232 * 1024),
        Package("dpkg", "base-files", "12.4+deb12u15", 341 * 1024),
        Package("dpkg", "zlib1g", "1:1.2.13.dfsg-1", 168 * 1024),
    ]


def test_dpkg_status_skips_packages_not_installed_and_continuation_lines():
    text = ("Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\n"
            "Package: kept\nStatus: install ok installed\nVersion: 2\nDescription: x\n Package: not-a-package\n")
    assert parse_dpkg_status(text) == [Package("dpkg", "kept", "2", None)]


def test_pip_metadata_with_record_size():
    record = sample("six.RECORD")
    package = parse_pip_metadata(sample("six.METADATA"), record)
    assert package == Package("pip", "six", "1.17.0", record_size(record))
    # RECORD's rows with a size: six.py, the license, METADATA, WHEEL, top_level, INSTALLER.
    assert package.size > 30_000


def test_pip_metadata_without_record_or_name():
    tiny = "Metadata-Version: 2.1\nName: tiny\nVersion: 0.1\n"
    assert parse_pip_metadata(tiny) == Package("pip", "tiny", "0.1", None)
    assert parse_pip_metadata("Metadata-Version: 2.1\nVersion: 0.1\n") is None


def test_conda_meta_size_is_the_installed_files():
    assert parse_conda_meta(sample("conda-numpy.json")) == Package("conda", "numpy", "1.26.4", 1000)
    assert parse_conda_meta("not json") is None
    assert parse_conda_meta('{"name": "bare", "version": "1", "size": 5}') == Package("conda", "bare", "1", 5)


def test_package_records_are_recognised_by_path():
    assert is_package_record("/var/lib/dpkg/status")
    assert is_package_record("/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA")
    assert is_package_record("/usr/local/lib/python3.11/site-packages/six-1.17.0.dist-info/RECORD")
    assert is_package_record("/opt/conda/conda-meta/numpy-1.26.4-py311h64a7726_0.json")
    assert not is_package_record("/var/lib/dpkg/status-old")
    assert not is_package_record("/usr/lib/python3/dist-packages/six.py")


def test_packages_from_records_keys_by_manager_and_normalised_name():
    records = {
        "/var/lib/dpkg/status": sample("dpkg-status").encode(),
        "/usr/lib/python3/dist-packages/Six-1.17.0.dist-info/METADATA": b"Name: Six\nVersion: 1.17.0\n",
        "/usr/local/lib/python3.11/dist-packages/six-1.0.dist-info/METADATA": b"Name: six\nVersion: 1.0\n",
        "/opt/conda/conda-meta/numpy.json": sample("conda-numpy.json").encode(),
    }
    found = packages_from_records(records)
    assert sorted(found) == [("conda", "numpy"), ("dpkg", "adduser"), ("dpkg", "apt"), ("dpkg", "base-files"),
                             ("dpkg", "zlib1g"), ("pip", "six")]
    assert found[("pip", "six")].version == "1.17.0"  # the first path in path order
