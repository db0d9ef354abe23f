"""One test per fault kind: each names the line and says what is wrong in plain words."""

from __future__ import annotations

from pathlib import Path

from callcore.ivr.format import Fault
from callcore.ivr.validator import PromptDirs, check, format_faults
from callcore.prompts.audio import write_wav
from pydub.generators import Sine

from tests.ivr.menus import GOOD, menu


async def faults_of(text: str, dirs: PromptDirs | None = None) -> list[Fault]:
    return (await check(text, dirs)).faults


def only(faults: list[Fault], needle: str) -> Fault:
    hits = [x for x in faults if needle in x.message]
    assert len(hits) == 1, faults
    return hits[0]


async def test_good_menu_has_no_fault() -> None:
    assert await faults_of(GOOD) == []


async def test_shipped_menu_is_valid(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "ivr" / "main.yaml").read_text(encoding="utf-8")
    result = await check(text, PromptDirs(sounds_dir=tmp_path))
    assert result.faults == [] and result.ok
    assert result.menu is not None
    main = result.menu.nodes["main"]
    assert sorted(main.choices) == ["*", "0", "1", "2", "3", "4", "9"]  # type: ignore[attr-defined]
    # The welcome takes the same keys while it plays, so a caller who knows the menu need not hear it.
    welcome = result.menu.nodes["welcome"]
    assert {k: e.target for k, e in welcome.choices.items()} == {  # type: ignore[attr-defined]
        k: e.target for k, e in main.choices.items()}  # type: ignore[attr-defined]


async def test_unknown_target() -> None:
    text = GOOD.replace('"0": agent', '"0": agnet')
    fault = only(await faults_of(text), "unknown target 'agnet'")
    assert fault.line == 16


async def test_unreachable_node() -> None:
    text = GOOD + "  lonely:\n    type: hangup\n"
    fault = only(await faults_of(text), "unreachable")
    assert fault.line == text.splitlines().index("  lonely:") + 1
    assert "lonely" in fault.message


async def test_missing_prompt() -> None:
    text = GOOD.replace('    prompt: "子菜单"\n', "")
    fault = only(await faults_of(text), "missing prompt")
    assert fault.line == 18 and "sub" in fault.message


async def test_loop_without_exit() -> None:
    text = menu("""
    main:
      type: menu
      prompt: "请选择"
      choices:
        "1": other
      fallback: main
    other:
      type: menu
      prompt: "另一个"
      choices:
        "1": main
      fallback: other
    """)
    fault = only(await faults_of(text), "loop without exit")
    assert fault.line == 11 and "main, other" in fault.message


async def test_busy_loop_without_input() -> None:
    text = menu("""
    main:
      type: menu
      prompt: "请选择"
      choices:
        "1": a
      fallback: bye
    a:
      type: play
      prompt: "甲"
      next: b
    b:
      type: set
      attributes: {priority: 1}
      next: a
    bye: {type: hangup}
    """)
    faults = await faults_of(text)
    fault = only(faults, "repeats without waiting")
    assert "a -> b -> a" in fault.message and fault.line == 24


async def test_digit_used_twice() -> None:
    text = GOOD.replace('      "0": agent\n', '      "0": agent\n      1: bye\n')
    fault = only(await faults_of(text), "digit 1 is used twice")
    assert fault.line == 17 and "first on line 15" in fault.message


async def test_node_defined_twice() -> None:
    text = GOOD + "  bye:\n    type: hangup\n"
    only(await faults_of(text), "node 'bye' is defined twice")


async def test_bad_timeouts_and_counts() -> None:
    text = GOOD.replace("  fallback: bye\n", "  fallback: bye\n    timeout: 0\n    retries: 42\n", 1)
    faults = await faults_of(text)
    assert only(faults, "timeout: 0 is out of range").line == 18
    assert only(faults, "retries: 42 is out of range").line == 19


async def test_collect_bounds() -> None:
    text = menu("""
    main:
      type: collect
      prompt: "请输入"
      into: code
      min_digits: 8
      max_digits: 4
      terminator: "5"
      inter_timeout: 99
      next: bye
      fallback: bye
    bye: {type: hangup}
    """)
    faults = await faults_of(text)
    only(faults, "min_digits 8 is more than max_digits 4")
    only(faults, "terminator: expected")
    only(faults, "inter_timeout: 99 is out of range")


async def test_back_without_earlier_menu() -> None:
    text = GOOD.replace('"0": agent', '"*": back')
    fault = only(await faults_of(text), "'back' has no earlier menu")
    assert fault.line == 16


async def test_back_from_the_start_menu_to_itself_is_no_earlier_menu() -> None:
    """Issue 15: a start menu that repeats itself ("9": main) is reachable from itself, but ``back`` from it
    would return to the same menu: still a fault."""
    text = GOOD.replace('"0": agent', '"9": main\n      "*": back')
    fault = only(await faults_of(text), "'back' has no earlier menu")
    assert fault.line == 17 and "node main" in fault.message


async def test_unknown_lookup_and_attribute() -> None:
    text = menu("""
    main:
      type: lookup
      service: weather
      input: code
      found: bye
      not_found: bye
    bye: {type: hangup}
    set:
      type: set
      attributes: {category: gossip, mood: happy}
      next: bye
    """)
    faults = await faults_of(text)
    only(faults, "unknown self-service lookup 'weather'")
    only(faults, "input 'code' is not collected")
    only(faults, "unknown category 'gossip'")
    only(faults, "unknown attribute 'mood'")


async def test_hours_node_needs_hours_section() -> None:
    text = menu("""
    main: {type: hours, open: bye, closed: bye}
    bye: {type: hangup}
    """)
    only(await faults_of(text), "no 'hours' section")


async def test_missing_recording(tmp_path: Path) -> None:
    text = GOOD.replace('prompt: "子菜单"', "prompt: {file: no_such_recording}")
    fault = only(await faults_of(text, PromptDirs(sounds_dir=tmp_path, recordings=(tmp_path / "rec",))),
                 "recording 'no_such_recording' not found")
    assert fault.line == 20


async def test_broken_recording(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    rec.mkdir()
    (rec / "broken.wav").write_bytes(b"RIFF....not audio")
    write_wav(Sine(440).to_audio_segment(duration=300).set_frame_rate(44100), rec / "hifi.wav")
    write_wav(Sine(440).to_audio_segment(duration=300).set_frame_rate(8000).set_channels(1).set_sample_width(2),
              rec / "fine.wav")
    text = GOOD.replace('prompt: "子菜单"', "prompt: [{file: broken}, {file: hifi}, {file: fine}]")
    faults = await faults_of(text, PromptDirs(sounds_dir=tmp_path, recordings=(rec,)))
    # The two bad recordings, each named on the prompt's line; the 8 kHz mono one passes.
    assert sorted((x.line, x.message) for x in faults) == [
        (20, "broken prompt: recording 'broken' is not an 8 kHz mono 16-bit WAV"),
        (20, "broken prompt: recording 'hifi' is not an 8 kHz mono 16-bit WAV"),
    ]


async def test_unsynthesizable_prompt(tmp_path: Path) -> None:
    text = GOOD.replace("format: 1\n", "format: 1\nvoice: zzzbogus\n")
    faults = await faults_of(text, PromptDirs(sounds_dir=tmp_path))
    assert faults and all("cannot be synthesized" in x.message for x in faults)
    assert {x.line for x in faults} >= {7, 14}  # defaults.invalid and main's prompt


async def test_a_start_to_an_unknown_node() -> None:
    text = GOOD.replace("start: main", "start: mian")
    result = await check(text, None)
    assert [(x.line, x.message) for x in result.faults if "start:" in x.message] == [(4, "start: unknown target 'mian'")]
    assert not result.ok


async def test_switch_on_an_unknown_attribute_and_a_menu_without_choices_name_their_lines() -> None:
    text = menu("""
    main:
      type: switch
      attribute: mood
      cases: {happy: empty}
      default: empty
    empty:
      type: menu
      prompt: "空菜单"
      choices: {}
      fallback: bye
    bye: {type: hangup}
    """)
    faults = await faults_of(text)
    assert (only(faults, "unknown attribute").line, only(faults, "unknown attribute").message) == (
        11, "node main: unknown attribute 'mood'")
    assert (only(faults, "at least one choice").line, only(faults, "at least one choice").message) == (
        16, "node empty: a menu needs at least one choice")


async def test_hours_fault_names_the_node_and_its_line() -> None:
    text = menu("""
    main: {type: hours, open: bye, closed: bye}
    bye: {type: hangup}
    """)
    assert [(x.line, x.message) for x in await faults_of(text)] == [
        (11, "node main: the menu has no 'hours' section to branch on")]


async def test_a_missing_recording_says_where_it_was_looked_for(tmp_path: Path) -> None:
    text = GOOD.replace('prompt: "子菜单"', "prompt: {file: no_such_recording}")
    [fault] = await faults_of(text, PromptDirs(sounds_dir=tmp_path, recordings=(tmp_path / "a", tmp_path / "b")))
    assert fault.message == f"missing prompt: recording 'no_such_recording' not found ({tmp_path / 'a'}, {tmp_path / 'b'})"
    [fault] = await faults_of(text, PromptDirs(sounds_dir=tmp_path))
    assert fault.message == "missing prompt: recording 'no_such_recording' not found (no recordings folder configured)"


async def test_a_good_recording_is_in_the_prompt_table(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    rec.mkdir()
    write_wav(Sine(440).to_audio_segment(duration=300).set_frame_rate(8000).set_channels(1).set_sample_width(2),
              rec / "fine.wav")
    text = GOOD.replace('prompt: "子菜单"', "prompt: {file: fine}")
    result = await check(text, PromptDirs(sounds_dir=tmp_path, recordings=(rec,)))
    assert result.ok and (rec / "fine").resolve() in result.prompts.values()


async def test_text_that_is_not_a_menu_has_no_menu_and_says_why() -> None:
    result = await check("format: 1\nnodes: [", None)
    assert result.menu is None and result.faults and not result.ok


def test_faults_print_as_compilers_print_them() -> None:
    faults = [Fault(line=3, message="node a: x"), Fault(line=9, message="node b: y")]
    assert format_faults(faults, "ivr/main.yaml") == "ivr/main.yaml:3: node a: x\nivr/main.yaml:9: node b: y"
    assert format_faults([], "f") == ""


async def test_two_busy_loops_are_each_reported_once() -> None:
    text = menu("""
    main:
      type: menu
      prompt: "请选择"
      choices:
        "1": a
        "2": c
      fallback: bye
    a:
      type: play
      prompt: "甲"
      next: b
    b:
      type: set
      attributes: {priority: 1}
      next: a
    c:
      type: play
      prompt: "丙"
      next: d
    d:
      type: set
      attributes: {priority: 2}
      next: c
    bye: {type: hangup}
    """)
    busy = [x.message for x in await faults_of(text) if "repeats without waiting" in x.message]
    assert len(busy) == 2, busy
    assert any("a -> b -> a" in m for m in busy) and any("c -> d -> c" in m for m in busy)
