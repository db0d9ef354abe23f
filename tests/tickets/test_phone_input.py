"""Phone numbers as agents type them (issue 14): mobiles with +86, spaces and dashes, landlines with
their area code; one stored form; a bad number refused in Chinese, not with a regular expression."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from callcore.tickets import phones
from callcore.tickets.models import Ticket
from tests.tickets.api import TicketsApi


@pytest.mark.parametrize("typed, stored", [
    ("13812345678", "13812345678"),
    ("138 1234 5678", "13812345678"),
    ("138-1234-5678", "13812345678"),
    ("+86 138 1234 5678", "13812345678"),
    ("86-13812345678", "13812345678"),
    ("１３８１２３４５６７８", "13812345678"),  # full-width digits from a Chinese input method
    ("0931-8888888", "09318888888"),
    ("(0931)8888888", "09318888888"),
    ("（0931）8888888", "09318888888"),
    ("010-12345678", "01012345678"),  # an 8-digit local number
    ("+852 9123 4567", "0085291234567"),
    ("00852123456", "00852123456"),  # abroad: a plausible length is enough
    ("", ""),
])
def test_typed_numbers_are_normalised(typed: str, stored: str) -> None:
    assert phones.normalise(typed) == stored


@pytest.mark.parametrize("typed, why", [
    ("12345", ""), ("abc", ""), ("1381234567", "手机号码应为11位"), ("8888888", "固定电话请加区号"),
    ("0931-888888", ""), ("0931-8888888-123", ""), ("139123456789", "手机号码应为11位"), ("1" * 41, "太长"),
])
def test_bad_numbers_say_why_in_chinese(typed: str, why: str) -> None:
    with pytest.raises(phones.BadPhone) as bad:
        phones.normalise(typed)
    assert bad.value.text.startswith("电话号码格式不正确：") and why in bad.value.text


def test_tail_is_the_last_four_digits() -> None:
    assert phones.tail("09318888888") == "8888" and phones.tail("123") == "" and phones.tail("") == ""


async def test_api_stores_the_normalised_number_and_refuses_a_bad_one(api: TicketsApi) -> None:
    t = await api.new_ticket(phone="(0931)8888888")
    assert t["phone"] == "093****8888"
    s, out = await api.call("POST", f"/api/v1/tickets/{t['id']}/reveal", "dispatcher", json={"fields": ["phone"]})
    assert s == 200 and out["phone"] == "09318888888"
    s, out = await api.call("GET", "/api/v1/tickets?phone=0931-8888888", "agent")
    assert [x["id"] for x in out["items"]] == [t["id"]]
    s, err = await api.call("POST", "/api/v1/tickets", "agent", json={"category": "help", "content": "x", "phone": "12345"})
    assert s == 400 and err["details"][0]["field"] == "phone", err
    assert err["details"][0]["message"] == "电话号码格式不正确：12345" and "^" not in str(err)
    s, err = await api.call("GET", "/api/v1/tickets?phone=abc", "agent")
    assert s == 400 and err["details"][0]["field"] == "phone" and "电话号码格式不正确" in err["details"][0]["message"]
    async with api.db.session() as sess:
        assert await sess.scalar(select(func.count()).select_from(Ticket)) == 1
