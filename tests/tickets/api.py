"""The tickets API under test: the accounts and tickets plugins with a user of every role logged in
(``tests.accounts.staff``), and the two calls most tests make."""

from __future__ import annotations

from typing import Any

from tests.accounts.staff import Api


class TicketsApi(Api):
    async def new_ticket(self, who: str = "agent", **over: Any) -> dict[str, Any]:
        body = {"category": "complaint", "content": "小区夜间施工噪音", "phone": "13812345678",
                "id_card": "110101199003071234", "caller_name": "张先生", **over}
        status, out = await self.call("POST", "/api/v1/tickets", who, json=body)
        assert status == 201, out
        return out  # type: ignore[no-any-return]

    async def act(self, ref: str, who: str, action: str, **data: Any) -> tuple[int, Any]:
        return await self.call("POST", f"/api/v1/tickets/{ref}/actions", who, json={"action": action, **data})
