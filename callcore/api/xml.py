"""XML answers, for the clients that ask for them (Open311 GeoReport v2's ``.xml`` formats).

One shape: a root element holding one element per item, each item's fields as child elements in
order (``None`` an empty element, booleans ``true``/``false``), UTF-8 with its declaration. Errors
take GeoReport's ``<errors><error><code/><description/></error></errors>`` (plus the error id and field).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from xml.etree import ElementTree

from aiohttp import web

CONTENT_TYPE = "application/xml"
# Characters XML 1.0 cannot carry at all (C0 controls but tab, LF, CR; lone surrogates; U+FFFE/F).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _ILLEGAL.sub("", str(value))


def document(root: str, item: str, rows: Iterable[Mapping[str, Any]]) -> bytes:
    top = ElementTree.Element(root)
    for row in rows:
        el = ElementTree.SubElement(top, item)
        for key, value in row.items():
            ElementTree.SubElement(el, key).text = _text(value)
    out: bytes = ElementTree.tostring(top, encoding="utf-8", xml_declaration=True)
    return out


def response(root: str, item: str, rows: Iterable[Mapping[str, Any]], *, status: int = 200) -> web.Response:
    return web.Response(body=document(root, item, rows), status=status, content_type=CONTENT_TYPE, charset="utf-8")


def errors(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> web.Response:
    """GeoReport's error document: the status as the code, the Chinese message as the description;
    beyond the standard, the stable ``error_id`` and the faulty ``field`` when there is one."""
    row: dict[str, Any] = {"code": status, "description": body.get("message", ""), "error_id": body.get("error_id", "")}
    details = body.get("details")
    if isinstance(details, list) and details and isinstance(details[0], dict) and details[0].get("field"):
        row["field"] = details[0]["field"]
    return web.Response(body=document("errors", "error", [row]), status=status, content_type=CONTENT_TYPE,
                        charset="utf-8", headers=headers)
