"""AmiClient against a fake AMI: UTF-8 across TCP reads, timeouts, reconnect, refused login, Command."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest

from callcore.ami import EVENT_MASK, AmiClient, AmiError, AmiMessage, AmiNotConnected, AmiTimeout
from callcore.config import AsteriskSettings
from tests.ami.fake_ami import FULLY_BOOTED, FakeAmi, message

NEWCHANNEL = message(
    Event="Newchannel", Privilege="call,all", Channel="PJSIP/trunk-00000001", CallerIDNum="13800138000",
    CallerIDName="张三", Uniqueid="1700000000.1",
).encode("utf-8")


class Events:
    """An on_event consumer that hands events to a queue, as the daemon's must."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[AmiMessage] = asyncio.Queue()

    def __call__(self, event: AmiMessage) -> None:
        self.queue.put_nowait(event)

    async def until(self, name: str, timeout: float = 2.0) -> list[AmiMessage]:
        """Every event received up to and including the next one called ``name``."""
        seen: list[AmiMessage] = []
        async with asyncio.timeout(timeout):
            while not seen or seen[-1].get("Event") != name:
                seen.append(await self.queue.get())
        return seen

    async def next(self, name: str, timeout: float = 2.0) -> AmiMessage:
        return (await self.until(name, timeout))[-1]


def make_client(server: FakeAmi, events: Events | None = None, *, secret: str | None = None,
                action_timeout: float = 5.0) -> AmiClient:
    settings = AsteriskSettings(ami_port=server.port, ami_user=server.username,
                                ami_secret=server.secret if secret is None else secret)
    client = AmiClient(settings, on_event=events, action_timeout=action_timeout)
    client.backoff_initial = 0.05
    client.backoff_max = 0.4
    return client


@pytest.fixture
async def server() -> AsyncIterator[FakeAmi]:
    fake = FakeAmi()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def events() -> Events:
    return Events()


@pytest.fixture
async def client(server: FakeAmi, events: Events) -> AsyncIterator[AmiClient]:
    ami = make_client(server, events)
    await ami.start()
    assert await ami.wait_connected(5)
    yield ami
    await ami.close()


async def test_login_asks_for_the_documented_event_classes(server: FakeAmi, client: AmiClient) -> None:
    assert client.connected
    assert server.logins[-1]["Events"] == EVENT_MASK
    assert set(EVENT_MASK.split(",")) >= {"call", "system", "agent"}
    assert "dialplan" not in EVENT_MASK  # VarSet, Newexten


async def test_chinese_caller_name_split_inside_a_character_arrives_whole(
    server: FakeAmi, client: AmiClient, events: Events
) -> None:
    cut = NEWCHANNEL.index("张".encode()) + 1  # after the first of the three bytes of 张
    await server.send_split(NEWCHANNEL, cut)
    event = await events.next("Newchannel")
    assert event["CallerIDName"] == "张三"
    assert event["CallerIDNum"] == "13800138000"


async def test_event_sent_one_byte_per_tcp_segment_arrives_whole(
    server: FakeAmi, client: AmiClient, events: Events
) -> None:
    await server.send(NEWCHANNEL, pause=0.002)
    event = await events.next("Newchannel", timeout=10)
    assert event["CallerIDName"] == "张三"
    assert event["Channel"] == "PJSIP/trunk-00000001"


async def test_invalid_utf8_is_replaced_not_dropped(server: FakeAmi, client: AmiClient, events: Events) -> None:
    await server.send(b"Event: PeerStatus\r\nPeer: PJSIP/1001\r\nCause: caf\xe9\r\n\r\n")
    event = await events.next("PeerStatus")
    assert event["Cause"] == "caf\ufffd"


async def test_unanswered_action_raises_timeout_within_its_timeout(server: FakeAmi, events: Events) -> None:
    server.silent.add("queuestatus")
    ami = make_client(server, events, action_timeout=0.3)
    await ami.start()
    try:
        assert await ami.wait_connected(5)
        started = time.monotonic()
        with pytest.raises(AmiTimeout):
            await ami.action({"Action": "QueueStatus"})
        assert 0.25 <= time.monotonic() - started < 1.0
        with pytest.raises(AmiTimeout):
            await ami.action({"Action": "QueueStatus"}, timeout=0.1)
        assert issubclass(AmiTimeout, AmiError)
        # A response arriving after the timeout is dropped; the session carries on.
        late = server.received[-1]["ActionID"]
        await server.send(message(Response="Success", ActionID=late, Message="late").encode())
        assert (await ami.action({"Action": "Ping"}))[0]["Ping"] == "Pong"
        assert ami.connected
    finally:
        await ami.close()


async def test_server_closing_the_connection_reconnects_and_next_action_works(
    server: FakeAmi, client: AmiClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="callcore.ami")
    server.silent.add("status")
    in_flight = asyncio.create_task(client.action({"Action": "Status"}, timeout=30))
    await asyncio.sleep(0.05)
    server.logged_in.clear()
    await server.drop_sessions()
    with pytest.raises(AmiNotConnected):  # failed at once, not after its 30 s timeout, and not re-sent
        await in_flight
    async with asyncio.timeout(5):
        await server.logged_in.wait()
    assert await client.wait_connected(5)
    assert (await client.action({"Action": "Ping"}))[0]["Ping"] == "Pong"
    assert len(server.logins) == 2
    assert [a["Action"] for a in server.received].count("Status") == 1
    assert "reconnecting in" in caplog.text


async def test_asterisk_restart_reconnects_with_backoff(
    server: FakeAmi, client: AmiClient, events: Events, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="callcore.ami")
    await server.stop()
    while client.connected:
        await asyncio.sleep(0.01)
    with pytest.raises(AmiNotConnected):
        await client.action({"Action": "Ping"})

    def delays() -> list[float]:
        return [float(r.getMessage().split()[-2]) for r in caplog.records if "reconnecting in" in r.getMessage()]

    async with asyncio.timeout(5):  # several refused attempts
        while len(delays()) < 5:
            await asyncio.sleep(0.02)
    # Prompt first retry after a working session, then doubling up to the cap (0.4 s here).
    assert delays()[:5] == [0.05, 0.1, 0.2, 0.4, 0.4]
    assert max(delays()) == client.backoff_max

    restarted = FakeAmi(port=server.port)
    await restarted.start()
    try:
        assert await client.wait_connected(5)
        assert (await client.action({"Action": "Ping"}))[0]["Ping"] == "Pong"
        await restarted.send(NEWCHANNEL)
        assert (await events.next("Newchannel"))["CallerIDName"] == "张三"
    finally:
        await client.close()
        await restarted.stop()


async def test_wrong_secret_is_logged_and_retried_without_escaping(
    server: FakeAmi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="callcore.ami")
    ami = make_client(server, secret="not-the-secret")
    await ami.start()  # returns at once, does not raise
    try:
        assert not await ami.wait_connected(0.5)
        assert not ami.connected
        assert len(server.logins) >= 2
        refused = [r for r in caplog.records if "refused" in r.getMessage()]
        assert refused and all(r.levelno == logging.ERROR for r in refused)
        assert "Authentication failed" in refused[0].getMessage()
        assert "not-the-secret" not in caplog.text
        with pytest.raises(AmiNotConnected):
            await ami.action({"Action": "Ping"})
        # The retry loop is alive: once the secret matches (operator fixed manager.conf), it logs in.
        server.secret = "not-the-secret"
        assert await ami.wait_connected(5)
    finally:
        await ami.close()


async def test_connected_only_once_asterisk_is_fully_booted(server: FakeAmi) -> None:
    server.fully_booted = False  # Asterisk restarting: Login works before its modules are loaded
    ami = make_client(server)
    await ami.start()
    try:
        async with asyncio.timeout(5):
            await server.logged_in.wait()
        assert not await ami.wait_connected(0.3)
        await server.send(FULLY_BOOTED)
        assert await ami.wait_connected(2)
    finally:
        await ami.close()


async def test_no_fully_booted_event_is_warned_about_then_tolerated(
    server: FakeAmi, caplog: pytest.LogCaptureFixture
) -> None:
    server.fully_booted = False
    ami = make_client(server)
    ami.boot_timeout = 0.2
    await ami.start()
    try:
        assert await ami.wait_connected(3)
        assert "sent no FullyBooted" in caplog.text
    finally:
        await ami.close()


async def test_start_does_not_raise_when_asterisk_is_down() -> None:
    down = FakeAmi()
    await down.start()
    await down.stop()
    ami = make_client(down)
    await ami.start()
    try:
        assert not await ami.wait_connected(0.2)
        with pytest.raises(AmiNotConnected):
            await ami.command("core show version")
    finally:
        await ami.close()


async def test_command_returns_its_output(server: FakeAmi, client: AmiClient) -> None:
    server.commands["pjsip show contacts"] = [
        "  Contact:  <Aor/ContactUri..............................>  <Hash....>  <Status> <RTT(ms)..>",
        "",
        "  Contact:  1001/sip:1001@127.0.0.1:5062                      3b2a16ba5c Avail         0.512",
    ]
    output = await client.command("pjsip show contacts")
    assert output.splitlines() == server.commands["pjsip show contacts"]
    server.commands["core show version"] = ["Asterisk 16.28.0"]
    assert await client.command("core show version") == "Asterisk 16.28.0"


async def test_refused_command_raises_with_the_cli_complaint(server: FakeAmi, client: AmiClient) -> None:
    with pytest.raises(AmiError, match="No such command 'nosuch'") as info:
        await client.command("nosuch")
    assert info.value.response["Response"] == "Error"
    assert client.connected


async def test_list_action_returns_response_and_its_events(
    server: FakeAmi, client: AmiClient, events: Events
) -> None:
    def core_show_channels(action: dict[str, str]) -> str:
        aid = action["ActionID"]
        return (
            message(Response="Success", ActionID=aid, EventList="start", Message="Channels will follow")
            + message(Event="CoreShowChannel", ActionID=aid, Channel="PJSIP/1001-00000002", CallerIDName="李四")
            + message(Event="CoreShowChannelsComplete", ActionID=aid, EventList="Complete", ListItems="1")
        )

    server.replies["coreshowchannels"] = core_show_channels
    messages = await client.action({"Action": "CoreShowChannels"})
    assert [m.get("Response") or m["Event"] for m in messages] == [
        "Success", "CoreShowChannel", "CoreShowChannelsComplete"
    ]
    assert messages[1]["CallerIDName"] == "李四"
    await server.send(NEWCHANNEL)
    delivered = [e["Event"] for e in await events.until("Newchannel")]
    assert "CoreShowChannel" not in delivered and "CoreShowChannelsComplete" not in delivered


async def test_failing_or_slow_handler_does_not_stop_the_reader(
    server: FakeAmi, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    def handler(event: AmiMessage) -> None:
        seen.append(event["Event"])
        if event["Event"] == "Hangup":
            raise RuntimeError("consumer bug")
        if event["Event"] == "Newstate":
            time.sleep(0.06)

    settings = AsteriskSettings(ami_port=server.port, ami_user=server.username, ami_secret=server.secret)
    ami = AmiClient(settings, on_event=handler)
    await ami.start()
    try:
        assert await ami.wait_connected(5)
        await server.send((message(Event="Hangup") + message(Event="Newstate") + message(Event="PeerStatus")).encode())
        async with asyncio.timeout(2):
            while "PeerStatus" not in seen:
                await asyncio.sleep(0.01)
        assert seen[-3:] == ["Hangup", "Newstate", "PeerStatus"]
        assert "on_event handler failed on Hangup" in caplog.text
        assert "hand events off" in caplog.text
        assert ami.connected
    finally:
        await ami.close()


async def test_unanswered_ping_drops_a_half_open_connection(server: FakeAmi) -> None:
    ami = make_client(server, action_timeout=0.2)
    ami.ping_interval = 0.1
    await ami.start()
    try:
        assert await ami.wait_connected(5)
        server.silent.add("ping")
        async with asyncio.timeout(3):
            while len(server.logins) < 2:
                await asyncio.sleep(0.02)
    finally:
        await ami.close()


async def test_a_connection_that_still_sends_events_is_kept_when_a_ping_goes_unanswered(
        server: FakeAmi, caplog: pytest.LogCaptureFixture) -> None:
    ami = make_client(server, action_timeout=0.3)
    ami.ping_interval = 0.1
    await ami.start()
    try:
        assert await ami.wait_connected(5)
        server.silent.add("ping")  # Asterisk too busy to answer, but events keep coming
        async with asyncio.timeout(2):
            while "still sends" not in caplog.text:
                await server.send(message(Event="Newstate").encode())
                await asyncio.sleep(0.05)
        assert len(server.logins) == 1 and ami.connected
        server.silent.discard("ping")
        assert (await ami.action({"Action": "Ping"}))[0]["Ping"] == "Pong"
    finally:
        await ami.close()


@pytest.mark.parametrize(
    "action",
    [
        {"Action": "Setvar", "Variable": "X", "Value": "1\r\nAction: Originate"},
        {"Action": "Getvar", "Variable\n": "X"},
        {"Action": "Ping", "ActionID": "mine"},
        {"Variable": "X"},
        {"Action": "Login", "Username": "admin"},
    ],
)
async def test_malformed_or_session_actions_are_refused_before_sending(
    server: FakeAmi, client: AmiClient, action: dict[str, str]
) -> None:
    with pytest.raises(ValueError):
        await client.action(action)
    assert server.received == []


def test_coroutine_handler_is_refused() -> None:
    async def handler(event: AmiMessage) -> None:
        pass

    with pytest.raises(TypeError):
        AmiClient(AsteriskSettings(), on_event=handler)  # type: ignore[arg-type]
