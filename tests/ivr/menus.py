"""Small menu texts for the IVR tests."""

from __future__ import annotations

import textwrap

HEAD = """\
format: 1
menu: t
version: "1"
start: main
defaults:
  invalid: "输入有误"
  no_input: "没有收到按键"
  unavailable: "暂不可用"
  goodbye: "再见"
"""


def menu(nodes: str, *, head: str = HEAD, extra: str = "") -> str:
    """A menu file: the common head, optional top-level ``extra`` and the ``nodes`` section (YAML, dedented)."""
    body = textwrap.indent(textwrap.dedent(nodes).strip("\n"), "  ")
    return head + textwrap.dedent(extra) + "nodes:\n" + body + "\n"


GOOD = menu("""
main:
  type: menu
  prompt: "咨询请按1，返回请按星号"
  choices:
    "1": sub
    "0": agent
  fallback: bye
sub:
  type: menu
  prompt: "子菜单"
  choices:
    "1": agent
    "*": back
  fallback: back
agent:
  type: queue
  queue: general
bye:
  type: hangup
""")
