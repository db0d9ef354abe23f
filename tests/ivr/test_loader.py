from __future__ import annotations

from callcore.ivr import format as f
from callcore.ivr.loader import parse

from tests.ivr.menus import GOOD, menu


def test_good_menu_parses_with_lines() -> None:
    m, faults = parse(GOOD)
    assert faults == []
    assert m is not None and m.name == "t" and m.start.target == "main"
    main = m.nodes["main"]
    assert isinstance(main, f.MenuNode)
    assert main.line == 11  # the "main:" key
    assert main.choices["1"].target == "sub" and main.choices["1"].line == 15
    assert main.prompt[0].kind == "say" and main.retries == 2 and main.timeout == 5.0


def test_yaml_syntax_error_has_line() -> None:
    _, faults = parse("format: 1\nnodes:\n  a: [1, 2\n  b: 3\n")
    assert len(faults) == 1 and faults[0].line >= 3 and "not valid YAML" in faults[0].message


def test_prompt_forms() -> None:
    m, faults = parse(menu("""
    main:
      type: play
      prompt: ["一", {say: "二"}, {file: rec_1}]
      next: bye
    bye: {type: hangup}
    """))
    assert faults == []
    assert m is not None
    node = m.nodes["main"]
    assert isinstance(node, f.PlayNode)
    assert [(p.kind, p.value) for p in node.prompt] == [("say", "一"), ("say", "二"), ("file", "rec_1")]


def test_unknown_field_and_type() -> None:
    _, faults = parse(menu("""
    main:
      type: teleport
    bye:
      type: hangup
      colour: red
    """))
    text = [str(x) for x in faults]
    assert any("'type' must be one of" in t and t.startswith("line 12") for t in text)
    assert any("unknown field 'colour'" in t and t.startswith("line 15") for t in text)


def test_business_hours() -> None:
    m, faults = parse(menu("""
    main: {type: hangup}
    """, extra="""\
    hours:
      timezone: Asia/Shanghai
      holidays: cn
      open:
        mon-fri: ["08:30-12:00", "13:30-17:30"]
        sat: "09:00-12:00"
    """))
    assert faults == []
    assert m is not None and m.hours is not None
    assert m.hours.weekly[0].intervals == ((510, 720), (810, 1050))
    assert m.hours.weekly[5].intervals == ((540, 720),)
    assert 6 not in m.hours.weekly


def test_bad_business_hours() -> None:
    _, faults = parse(menu("""
    main: {type: hangup}
    """, extra="""\
    hours:
      timezone: Mars/Base
      holidays: moon
      open:
        mon-fry: ["08:30-12:00"]
        sat: ["12:00-09:00", 25]
    """))
    messages = " | ".join(x.message for x in faults)
    assert "unknown time zone" in messages
    assert "'cn'" in messages
    assert "not a day" in messages
    assert "ends before it starts" in messages
    assert "quoted text" in messages
