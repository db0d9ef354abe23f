"""The dialling policy: the hotline never dials a premium, international or malformed number."""

from __future__ import annotations

import pytest

from callcore.callbacks.settings import CallbackSettings, CallbackSettingsError
from callcore.calls.outbound import NumberPolicy, NumberRefused

DEFAULT = NumberPolicy.parse(CallbackSettings().allowed_prefixes)


@pytest.mark.parametrize("number", ["13990000001", "139 9000 0001", "139-9000-0001", "01012345678", "0755123456",
                                    "84561234", "2345678"])
def test_mobiles_domestic_and_local_numbers_are_dialled(number: str) -> None:
    assert DEFAULT.check(number) == number.replace(" ", "").replace("-", "")


@pytest.mark.parametrize("number,why", [
    ("0088612345678", "长度"), ("00861234567", "号段"), ("+8613990000001", "数字"), ("", "为空"),
    ("1399000000", "11位"), ("139900000012", "11位"), ("12345", "长度"), ("1900123", "11位"), ("95588123", "号段"),
    ("96881", "长度"), ("1234567a", "数字"),
])
def test_international_premium_service_and_malformed_numbers_are_refused(number: str, why: str) -> None:
    with pytest.raises(NumberRefused) as err:
        DEFAULT.check(number)
    assert why in err.value.message
    assert not DEFAULT.usable(number)


def test_an_admin_may_allow_a_prefix() -> None:
    policy = NumberPolicy.parse("9", min_length=5, max_length=8)
    assert policy.check("95588") == "95588"
    with pytest.raises(ValueError):
        NumberPolicy.parse("13,+86")


@pytest.mark.parametrize("field,value", [("max_attempts", 2), ("retry_gap", 0), ("deadline_hours", 0),
                                         ("ring_seconds", 1), ("offer_after", -1), ("missed_delay", -1)])
def test_settings_out_of_range_are_refused(field: str, value: float) -> None:
    with pytest.raises(CallbackSettingsError, match=field):
        CallbackSettings(**{field: value})
