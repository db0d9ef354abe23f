"""XML answers: one shape, characters XML cannot carry left out rather than a broken document."""

from __future__ import annotations

from xml.etree import ElementTree

from callcore.api.xml import document


def test_rows_become_elements_in_order_with_plain_values() -> None:
    root = ElementTree.fromstring(document("services", "service", [
        {"service_code": "help", "metadata": False, "lat": None, "name": "求助"}]))
    [item] = root.findall("service")
    assert [(c.tag, c.text or "") for c in item] == [("service_code", "help"), ("metadata", "false"), ("lat", ""),
                                                     ("name", "求助")]


def test_characters_xml_cannot_carry_are_left_out() -> None:
    raw = document("r", "i", [{"caller": "张三\x01\x1b[31m\ud800"}])
    assert ElementTree.fromstring(raw).findtext("i/caller") == "张三[31m"
