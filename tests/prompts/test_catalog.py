"""Every shipped prompt passes the pronunciation check; ``callcore prompts check`` (issue 14)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from callcore import config
from callcore.cli import main
from callcore.ivr.rules import default_rules
from callcore.prompt_catalog import menu_texts, shipped_texts
from callcore.prompts.pronunciation import check_texts

SHIPPED_IVR = Path(__file__).resolve().parents[2] / "ivr"


def _settings(tmp_path: Path, ivr_dir: Path = SHIPPED_IVR) -> config.Settings:
    return config.load(env={"CALLCORE_RUN_DIR": str(tmp_path / "run"), "CALLCORE_IVR_DIR": str(ivr_dir)})


def _toml(tmp_path: Path, ivr_dir: Path) -> Path:
    path = tmp_path / "callcore.toml"
    path.write_text(f'run_dir = "{tmp_path / "run"}"\nivr_dir = "{ivr_dir}"\n', encoding="utf-8")
    return path


async def test_every_shipped_prompt_is_read_as_expected(tmp_path: Path) -> None:
    texts = shipped_texts(_settings(tmp_path))
    sources = {source.split(":")[0].split(" ")[0] for source, _ in texts}
    assert {"main.yaml", "ivr", "system", "queues", "voicemail", "survey", "digit"} <= sources
    assert await check_texts(texts) == []


def test_the_faq_says_the_configured_time_limits() -> None:
    """Issue 14: the FAQ promised 五个工作日 for every ticket; complaints take 15, reports 30 (W-7)."""
    [faq] = [text for source, text in menu_texts(SHIPPED_IVR, default_rules()) if "工作日" in text]
    assert "投诉类在十五个工作日内" in faq and "举报类在三十个工作日内" in faq
    assert "一般在五个工作日内办结" not in faq
    slower = menu_texts(SHIPPED_IVR, {**default_rules(), "deadline:report": "二十个工作日"})
    assert any("举报类在二十个工作日内" in text for _source, text in slower)


def test_no_shipped_text_says_digits_as_an_amount(tmp_path: Path) -> None:
    assert not [text for _source, text in shipped_texts(_settings(tmp_path)) if "96881" in text]


def test_the_command_lists_misreadings_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ivr = tmp_path / "ivr"
    ivr.mkdir()
    shutil.copy(SHIPPED_IVR / "main.yaml", ivr / "main.yaml")
    text = (ivr / "main.yaml").read_text(encoding="utf-8")
    (ivr / "main.yaml").write_text(text.replace('"常见问题。"', '"常见问题，请欣赏音乐。"'), encoding="utf-8")
    assert main(["-c", str(_toml(tmp_path, ivr)), "prompts", "check"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and "main.yaml" in out[0] and "乐" in out[0] and "le4" in out[0] and "yue4" in out[0]


def test_the_command_passes_the_shipped_prompts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-c", str(_toml(tmp_path, SHIPPED_IVR)), "prompts", "check"]) == 0
    assert "every shipped prompt is read as expected" in capsys.readouterr().out
