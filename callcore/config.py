"""The one configuration loader: a TOML file, then ``CALLCORE_*`` environment variables.

Secrets (ARI/AMI passwords, API token) never come from the repository:
they are read from the environment or from a ``KEY=VALUE`` secrets file outside the tree
(``CALLCORE_SECRETS_FILE``, by default ``<run_dir>/secrets.env``, written by ``callcore setup``).
Agents' SIP passwords are not settings: each agent has its own, kept as a digest in the store
(``callcore.queues.directory``).
"""

from __future__ import annotations

import os
import secrets as _secrets
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from callcore.callbacks.settings import CallbackSettings, CallbackSettingsError
from callcore.surveys.settings import SurveySettings, SurveySettingsError
from callcore.tickets.settings import TicketSettings

ENV_PREFIX = "CALLCORE_"
FLOWS = ("ivr", "welcome")
SECRET_KEYS = ("ARI_PASSWORD", "AMI_SECRET", "API_TOKEN")
_WEAK_SECRETS = {"", "asterisk", "admin", "secret", "password", "changeme", "amp111"}


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the key."""


def default_run_dir() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "callcore"


@dataclass(frozen=True, kw_only=True)
class AsteriskSettings:
    host: str = "127.0.0.1"
    sip_port: int = 5070
    http_port: int = 8098
    ami_port: int = 5048
    ari_user: str = "callcore"
    ari_password: str = ""
    ami_user: str = "callcore"
    ami_secret: str = ""
    app: str = "callcore"
    hotline: str = "96881"
    # Asterisk's HTTP server refuses sessions past this; the ARI client pool stays below it.
    http_session_limit: int = 200
    trunk_match: str = "127.0.0.1"
    max_call_seconds: int = 7200
    # C-2: the most hotline calls at once; the dialplan refuses one more with a busy message (0: no limit).
    channel_limit: int = 0
    rtp_start: int = 20000
    rtp_end: int = 20999
    # Asterisk's threads at real-time priority (asterisk.conf ``highpriority``, what Debian's own
    # asterisk.service does with ``-p``): a thread carrying a call's audio runs the moment a frame
    # arrives instead of waiting behind the daemon or the console, which keeps recordings whole on a
    # busy machine (issue 10, bench/RESULTS.md). Asterisk applies it only when started as root.
    realtime: bool = True
    bench_extension: bool = False
    # The SIP URI citizens are called through (callbacks, click-to-dial, survey calls), e.g.
    # ``sip:192.0.2.10:5060``; Asterisk dials ``PJSIP/<number>@citizen-out``. Empty: no outbound calls.
    outbound_trunk: str = ""
    # Which Asterisk runs: "16" (the distribution's: 16 on Debian 12, 20 on Ubuntu 24.04), "22" (the
    # root scripts/install-asterisk-22.sh builds) or the path of an asterisk binary; empty: the
    # default. ``CALLCORE_ASTERISK`` wins over it (callcore/asterisk/installation.py).
    which: str = ""
    # Its module and data folders; empty: the chosen installation's own.
    modules_dir: str = ""
    data_dir: str = ""

    @property
    def ari_url(self) -> str:
        return f"http://{self.host}:{self.http_port}/ari"


@dataclass(frozen=True, kw_only=True)
class DatabaseSettings:
    url: str = ""
    # Events that could not be written (database down) are spooled here and replayed.
    spool_file: str = ""


@dataclass(frozen=True, kw_only=True)
class ApiSettings:
    host: str = "127.0.0.1"
    port: int = 8096
    token: str = ""


@dataclass(frozen=True, kw_only=True)
class LogSettings:
    level: str = "INFO"
    json: bool = False


@dataclass(frozen=True, kw_only=True)
class CallSettings:
    # A caller who leaves the queue sooner than this is a short abandon, counted apart (C-2, C-3):
    # a misdial or an instant change of mind no agent could have prevented.
    short_abandon_seconds: float = 5.0


@dataclass(frozen=True, kw_only=True)
class AgiSettings:
    host: str = "127.0.0.1"
    port: int = 4574


@dataclass(frozen=True, kw_only=True)
class NotifySettings:
    """W-17: where the outbox sends notifications; no webhook means the log sender."""

    webhook: str = ""
    token: str = ""


@dataclass(frozen=True, kw_only=True)
class RecordingSettings:
    """T-9: where Asterisk writes the calls' recordings and how long they must be kept; T-10: messages' limits."""

    # Days a recording is kept before an admin may delete it. 180 is this project's choice: no
    # national rule fixes a retention period for 12345 hotline recordings, so set what yours requires.
    retention_days: int = 180
    # Asterisk's recording directory (``astspooldir``/recording); empty: ``<run_dir>/spool/recording``,
    # as ``asterisk-conf/asterisk.conf.j2`` sets it. The daemon reads the files there, so it must
    # share that folder with Asterisk.
    dir: str = ""
    # T-10: the longest message a caller may leave, and the seconds of silence that end one.
    voicemail_max_seconds: int = 120
    voicemail_max_silence: int = 5

    def __post_init__(self) -> None:
        if not 1 <= self.retention_days <= 36500:
            raise ConfigError(f"recordings.retention_days: expected 1 to 36500 days, got {self.retention_days}")
        if not 5 <= self.voicemail_max_seconds <= 3600:
            raise ConfigError("recordings.voicemail_max_seconds: expected 5 to 3600 seconds, "
                              f"got {self.voicemail_max_seconds}")
        if not 1 <= self.voicemail_max_silence <= 60:
            raise ConfigError("recordings.voicemail_max_silence: expected 1 to 60 seconds, "
                              f"got {self.voicemail_max_silence}")


@dataclass(frozen=True, kw_only=True)
class Settings:
    run_dir: Path = field(default_factory=default_run_dir)
    asterisk: AsteriskSettings = field(default_factory=AsteriskSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    log: LogSettings = field(default_factory=LogSettings)
    agi: AgiSettings = field(default_factory=AgiSettings)
    calls: CallSettings = field(default_factory=CallSettings)
    tickets: TicketSettings = field(default_factory=TicketSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    recordings: RecordingSettings = field(default_factory=RecordingSettings)
    callbacks: CallbackSettings = field(default_factory=CallbackSettings)
    surveys: SurveySettings = field(default_factory=SurveySettings)
    ivr_dir: Path = field(default_factory=lambda: Path(__file__).resolve().parent.parent / "ivr")
    # The queue catalog (queues, their strategies and members) admins edit, like the menus of ivr_dir.
    queues_file: Path = field(default_factory=lambda: Path(__file__).resolve().parent.parent / "queues" / "queues.yaml")
    # What a call in the Stasis app runs: "ivr" (the menus in ivr_dir) or "welcome" (answer, welcome
    # prompt, hang up: the foundation's flow, kept for benchmarks and as the IVR's fallback).
    flow: str = "ivr"

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite+aiosqlite:///{self.run_dir / 'callcore.db'}"

    @property
    def spool_file(self) -> Path:
        return Path(self.database.spool_file) if self.database.spool_file else self.run_dir / "event-spool.jsonl"

    @property
    def sounds_dir(self) -> Path:
        return self.run_dir / "sounds"

    @property
    def fallback_mailbox_dir(self) -> Path:
        """Where Asterisk keeps the messages of the dialplan's fallback (``astspooldir`` is ``<run_dir>/spool``)."""
        return self.run_dir / "spool" / "voicemail" / "callcore" / self.asterisk.hotline

    @property
    def cdr_ledger_file(self) -> Path:
        """Asterisk's CDR line per channel (``cdr_custom.conf``; ``astlogdir`` is ``<run_dir>/log``)."""
        return self.run_dir / "log" / "cdr-custom" / "callcore.csv"

    def check(self) -> None:
        """Values the loader cannot type-check on its own."""
        if self.flow not in FLOWS:
            raise ConfigError(f"flow: expected one of {', '.join(FLOWS)}, got {self.flow!r}")
        short = self.calls.short_abandon_seconds
        if not 0 <= short <= 60:
            raise ConfigError(f"calls.short_abandon_seconds: expected 0 to 60 seconds, got {short}")

    def check_secrets(self) -> None:
        """Refuse to run with a missing or well-known credential (A-3)."""
        for name, value in (
            ("ARI_PASSWORD", self.asterisk.ari_password),
            ("AMI_SECRET", self.asterisk.ami_secret),
            ("API_TOKEN", self.api.token),
        ):
            if value.lower() in _WEAK_SECRETS or len(value) < 8:
                raise ConfigError(
                    f"{ENV_PREFIX}{name} is missing or too weak: set it in the environment or the secrets file"
                )


def _coerce(key: str, raw: Any, current: Any) -> Any:
    if isinstance(current, bool):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{key}: expected a boolean, got {raw!r}")
    if isinstance(current, int):
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected an integer, got {raw!r}") from None
    if isinstance(current, float):
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected a number, got {raw!r}") from None
    if isinstance(current, Path):
        return Path(str(raw)).expanduser()
    if not isinstance(raw, str):
        raise ConfigError(f"{key}: expected a string, got {raw!r}")
    return raw


# Settings that were removed, and where what they held lives now: named in the error, not only "unknown".
_REMOVED = {
    "asterisk.agents": "agents are kept in the store: add them with `callcore agents add` or the admin API",
}


def _apply(obj: Any, values: Mapping[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(obj)}
    changes: dict[str, Any] = {}
    for key, raw in values.items():
        if key not in known:
            moved = _REMOVED.get(f"{where.removeprefix(ENV_PREFIX)}{key}")
            raise ConfigError(f"{where}{key}: unknown setting" + (f" ({moved})" if moved else ""))
        current = getattr(obj, key)
        if hasattr(current, "__dataclass_fields__"):
            if not isinstance(raw, dict):
                raise ConfigError(f"{where}{key}: expected a table")
            changes[key] = _apply(current, raw, f"{where}{key}.")
        else:
            changes[key] = _coerce(f"{where}{key}", raw, current)
    try:
        return replace(obj, **changes)
    except (CallbackSettingsError, SurveySettingsError) as exc:  # a capability's own range checks
        raise ConfigError(str(exc)) from None


def _read_secrets_file(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    if not path.is_file():
        return out
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ConfigError(f"{path}:{n}: expected KEY=VALUE")
        out[key.strip().removeprefix(ENV_PREFIX)] = value.strip()
    return out


# Environment names map onto nested settings: CALLCORE_ASTERISK_SIP_PORT -> asterisk.sip_port.
_SECRET_PATHS = {
    "ARI_PASSWORD": ("asterisk", "ari_password"),
    "AMI_SECRET": ("asterisk", "ami_secret"),
    "API_TOKEN": ("api", "token"),
    "NOTIFY_TOKEN": ("notify", "token"),
}


_TOP_LEVEL = frozenset({"run_dir", "ivr_dir", "queues_file", "flow"})


def _env_overrides(settings: Settings, env: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    sections = {f.name for f in fields(settings) if hasattr(getattr(settings, f.name), "__dataclass_fields__")}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name in (f"{ENV_PREFIX}CONFIG", f"{ENV_PREFIX}SECRETS_FILE"):
            continue
        key = name[len(ENV_PREFIX):].lower()
        if key.upper() in _SECRET_PATHS:
            section, attr = _SECRET_PATHS[key.upper()]
            tree.setdefault(section, {})[attr] = value
            continue
        # Top-level names first: CALLCORE_QUEUES_FILE is queues_file even beside a [queues] section.
        section, _, rest = key.partition("_")
        if key in _TOP_LEVEL:
            tree[key] = value
        elif section in sections and rest:
            tree.setdefault(section, {})[rest] = value
    return tree


def load(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings: defaults, then the TOML file, then the environment, then secrets."""
    env = os.environ if env is None else env
    settings = Settings()
    path = path or env.get(f"{ENV_PREFIX}CONFIG")
    if path:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{p}: configuration file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: {exc}") from None
        for section, attr in _SECRET_PATHS.values():
            if attr in data.get(section, {}):
                raise ConfigError(f"{p}: {section}.{attr} is a secret: set it in the environment, not the file")
        settings = _apply(settings, data, "")
    settings = _apply(settings, _env_overrides(settings, env), ENV_PREFIX)
    settings.check()
    secrets_file = Path(env.get(f"{ENV_PREFIX}SECRETS_FILE") or settings.run_dir / "secrets.env")
    from_file = _read_secrets_file(secrets_file)
    for key, (section, attr) in _SECRET_PATHS.items():
        if f"{ENV_PREFIX}{key}" not in env and key in from_file:
            settings = _apply(settings, {section: {attr: from_file[key]}}, "")
    assert isinstance(settings, Settings)
    return settings


def write_secrets_file(path: Path) -> None:
    """Create a secrets file with fresh random credentials, unless one exists."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{ENV_PREFIX}{key}={_secrets.token_urlsafe(18)}" for key in SECRET_KEYS]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("# callcore credentials, generated; keep this file out of any repository\n")
        fh.write("\n".join(lines) + "\n")
