"""``DockMagic`` settings: a bad value is refused when it is set (``%config`` says what is allowed and the
setting keeps its value); good values are taken."""

from __future__ import annotations

import logging
import os

import pytest
from traitlets import TraitError

# setting, a bad value as typed after "=", the start of what %config says
BAD_VALUES = [
    ("network", '"bad network!"', "DockMagic.network 'bad network!' is not a network mode: use host, none"),
    ("network", '"container:"', "DockMagic.network 'container:' is not a network mode"),
    ("connect_timeout", "-5", "DockMagic.connect_timeout -5.0 is not allowed: give a number of seconds above 0"),
    ("connect_timeout", "0", "DockMagic.connect_timeout 0.0 is not allowed: give a number of seconds above 0"),
    ("context_warning_bytes", "-1",
     "DockMagic.context_warning_bytes -1 is not allowed: give a number of bytes, 0 or more (0: never warn)"),
    ("build_logs_kept", "0", "DockMagic.build_logs_kept 0 is not allowed: give a count of builds, 1 or more"),
    ("docker_host", '"fd://3"', "DockMagic.docker_host 'fd://3' is not an engine address: use unix://"),
    ("docker_host", '"tcp://a host:2375"', "DockMagic.docker_host 'tcp://a host:2375' is not an engine address"),
    ("log_dir", f'"{os.path.abspath(__file__)}"', "is a file, not a folder: give a folder (made if missing), or ''"),
    ("recordings", f'"{os.path.abspath(__file__)}"', "is a file, not a folder: give a folder"),
]


@pytest.mark.parametrize("setting, typed, said", BAD_VALUES)
def test_config_refuses_a_bad_value_and_says_what_is_allowed(ipython_shell, settings, caplog, setting, typed,
                                                             said):
    before = getattr(settings, setting)
    with caplog.at_level(logging.ERROR):
        ipython_shell.run_line_magic("config", f"DockMagic.{setting} = {typed}")
    assert said in caplog.text
    assert getattr(settings, setting) == before


@pytest.mark.parametrize("setting, typed, said", BAD_VALUES)
def test_setting_a_bad_value_in_python_raises_the_same_sentence(settings, setting, typed, said):
    with pytest.raises(TraitError) as refused:
        setattr(settings, setting, eval(typed))
    assert said in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("setting, value", [
    ("network", "host"), ("network", "none"), ("network", "my_net.1"), ("network", "container:play"),
    ("network", ""), ("connect_timeout", 0.5), ("context_warning_bytes", 0), ("build_logs_kept", 1),
    ("docker_host", "unix:///var/run/docker.sock"), ("docker_host", "tcp://127.0.0.1:2376"),
    ("docker_host", "ssh://ada@example.org"), ("docker_host", "localhost:2375"), ("docker_host", ""),
])
def test_good_values_are_taken(ipython_shell, settings, setting, value):
    ipython_shell.run_line_magic("config", f"DockMagic.{setting} = {value!r}")
    assert getattr(settings, setting) == value


def test_log_folders_are_taken_whether_or_not_they_exist(ipython_shell, settings, tmp_path):
    ipython_shell.run_line_magic("config", f'DockMagic.log_dir = "{tmp_path}"')
    ipython_shell.run_line_magic("config", f'DockMagic.recordings = "{tmp_path / "not-yet"}"')
    assert (settings.log_dir, settings.recordings) == (str(tmp_path), str(tmp_path / "not-yet"))


def test_build_logs_kept_is_listed_by_config_with_its_default(ipython_shell, settings, capsys):
    ipython_shell.run_line_magic("config", "DockMagic")
    shown = capsys.readouterr().out
    assert "DockMagic.build_logs_kept=<Int>" in shown and "Current: 50" in shown
    assert "How many builds' full logs to keep on disk (in log_dir)" in shown
