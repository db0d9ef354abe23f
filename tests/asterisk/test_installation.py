"""Which Asterisk runs and how it is invoked: the system one, a root of its own, a binary by path."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcore import config
from callcore.asterisk import installation
from callcore.asterisk.installation import Installation, choose, from_root, record, recorded, selected
from callcore.config import ConfigError


def fake_root(root: Path, *, version: str = "Asterisk 22.10.1+dfsg") -> Path:
    """A root laid out as debootstrap + Debian's asterisk leave it; its "loader" runs the program
    given after ``--library-path`` (so the invocation is exercised without a real one)."""
    (root / "lib64").mkdir(parents=True)
    loader = root / "lib64" / "ld-linux-x86-64.so.2"
    loader.write_text('#!/bin/sh\n[ "$1" = --library-path ] || exit 9\nshift 2\nexec "$@"\n')
    loader.chmod(0o755)
    (root / "usr" / "sbin").mkdir(parents=True)
    binary = root / "usr" / "sbin" / "asterisk"
    binary.write_text(f'#!/bin/sh\n[ "$1" = -V ] && echo "{version}"\n')
    binary.chmod(0o755)
    (root / "usr" / "lib" / "x86_64-linux-gnu" / "asterisk" / "modules").mkdir(parents=True)
    (root / "lib" / "x86_64-linux-gnu").mkdir(parents=True)
    (root / "usr" / "share" / "asterisk").mkdir(parents=True)
    return root


def test_16_and_system_are_the_distributions_asterisk() -> None:
    for name in ("16", "system"):
        inst = choose(name)
        assert inst.name == "system" and inst.loader == ""
        assert inst.modules_dir == "/usr/lib/asterisk/modules" and inst.data_dir == "/usr/share/asterisk"
        assert inst.argv("-V") == [inst.binary, "-V"]


def test_a_root_runs_through_its_own_loader_with_its_own_libraries_and_modules(tmp_path: Path) -> None:
    root = fake_root(tmp_path / "ast22")
    inst = from_root(root, "22")
    assert inst.modules_dir == str(root / "usr/lib/x86_64-linux-gnu/asterisk/modules")
    assert inst.data_dir == str(root / "usr/share/asterisk") and inst.sbin_dir == str(root / "usr/sbin")
    argv = inst.argv("-C", "/run/etc/asterisk.conf", "-rx", "core show version")
    assert argv[:2] == [str(root / "lib64/ld-linux-x86-64.so.2"), "--library-path"]
    assert argv[2].split(":")[:2] == [str(root / "usr/lib/x86_64-linux-gnu"), str(root / "lib/x86_64-linux-gnu")]
    assert argv[3:] == [str(root / "usr/sbin/asterisk"), "-C", "/run/etc/asterisk.conf", "-rx", "core show version"]
    assert inst.version() == "Asterisk 22.10.1+dfsg"
    # The same root named by the path of its binary.
    assert choose(str(root / "usr/sbin/asterisk")).loader == inst.loader


def test_22_without_its_root_says_how_to_build_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(installation, "ROOT_22", tmp_path / "none")
    with pytest.raises(ConfigError, match="install-asterisk-22.sh"):
        choose("22")
    monkeypatch.setattr(installation, "ROOT_22", fake_root(tmp_path / "root"))
    assert choose("22").binary == str(tmp_path / "root/usr/sbin/asterisk")


def test_nothing_chosen_is_22_where_its_root_exists_else_the_distributions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(installation, "ROOT_22", tmp_path / "none")
    assert choose("").name == "system" and choose("  ").loader == ""
    monkeypatch.setattr(installation, "ROOT_22", fake_root(tmp_path / "root"))
    inst = choose("")
    assert inst.name == "22" and inst.binary == str(tmp_path / "root/usr/sbin/asterisk")
    settings = config.load(None, env={})
    assert selected(settings, env={}).name == "22"
    assert selected(settings, env={"CALLCORE_ASTERISK": "16"}).name == "system"


def test_an_unknown_choice_is_refused() -> None:
    with pytest.raises(ConfigError, match="16, 22"):
        choose("18")
    with pytest.raises(ConfigError, match="no such file"):
        choose("/nowhere/asterisk")


def test_a_source_build_is_found_under_its_prefix(tmp_path: Path) -> None:
    (tmp_path / "sbin").mkdir()
    binary = tmp_path / "sbin" / "asterisk"
    binary.write_text("#!/bin/sh\necho 'Asterisk 20.11.0'\n")
    binary.chmod(0o755)
    (tmp_path / "lib" / "asterisk" / "modules").mkdir(parents=True)
    inst = choose(str(binary))
    assert inst.loader == "" and inst.modules_dir == str(tmp_path / "lib/asterisk/modules")
    assert inst.version() == "Asterisk 20.11.0"


def test_the_environment_wins_over_the_setting_and_folders_may_be_overridden(tmp_path: Path) -> None:
    root = fake_root(tmp_path / "ast22")
    settings = config.load(None, env={"CALLCORE_ASTERISK_WHICH": str(root / "usr/sbin/asterisk"),
                                      "CALLCORE_ASTERISK_DATA_DIR": "/srv/asterisk-data"})
    assert selected(settings, env={}).binary == str(root / "usr/sbin/asterisk")
    assert selected(settings, env={}).data_dir == "/srv/asterisk-data"
    assert selected(settings, env={"CALLCORE_ASTERISK": "16"}).name == "system"


def test_the_rendered_configuration_remembers_its_installation(tmp_path: Path) -> None:
    inst = from_root(fake_root(tmp_path / "ast22"), "22")
    (tmp_path / "etc").mkdir()
    record(tmp_path / "etc", inst)
    assert recorded(tmp_path / "etc" / "asterisk.conf") == inst
    assert isinstance(recorded(tmp_path / "elsewhere" / "asterisk.conf"), Installation)
