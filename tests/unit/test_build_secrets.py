"""``--secret`` specs as ``docker build --secret`` takes them, read before anything is sent (no engine)."""

from __future__ import annotations

import pytest

from dockmagic.errors import InvalidInput
from dockmagic.operations.build_secrets import MAX_SECRET_BYTES, parse_secret, parse_secrets


def test_a_file_a_named_variable_and_a_variable_of_the_same_name(tmp_path, monkeypatch):
    (tmp_path / "token").write_bytes(b"abc\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DM_TOKEN", "from env")
    assert parse_secret("id=t,src=~/token").value == b"abc\n"  # ~ is the kernel user's home
    assert parse_secret(f"id=t,source={tmp_path}/token,type=file").source == f"{tmp_path}/token"
    assert parse_secret("id=t,env=DM_TOKEN").value == b"from env"
    assert parse_secret("id=DM_TOKEN").value == b"from env"
    assert parse_secret("id=DM_TOKEN,type=env").kind == "env"
    assert "from env" not in repr(parse_secret("id=DM_TOKEN"))  # a value is never shown


@pytest.mark.parametrize(("spec", "said"), [
    ("", "'' is not KEY=VALUE"),
    ("src=/x", "names no id"),
    ("id=a,type=vault", "type='vault' is neither file nor env"),
    ("id=a,mode=0400", "'mode' is not a secret's option (id, src, env, type)"),
])
def test_a_malformed_spec_says_what_to_write(spec, said):
    with pytest.raises(InvalidInput) as refused:
        parse_secret(spec)
    assert said in str(refused.value)


def test_too_large_twice_given_and_unreadable(tmp_path):
    big = tmp_path / "big"
    big.write_bytes(b"x" * (MAX_SECRET_BYTES + 1))
    with pytest.raises(InvalidInput, match="more than 500 KiB, the most BuildKit takes"):
        parse_secret(f"id=big,src={big}")
    small = tmp_path / "small"
    small.write_text("s")
    with pytest.raises(InvalidInput, match="--secret id=s is given twice"):
        parse_secrets([f"id=s,src={small}", f"id=s,src={small}"])
    with pytest.raises(InvalidInput, match=r"cannot read '.*/nothing' \(No such file or directory\)"):
        parse_secret(f"id=n,src={tmp_path}/nothing")
    assert parse_secrets(None) == {}
