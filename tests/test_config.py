from __future__ import annotations

from pathlib import Path

import pytest

from callcore import config
from callcore.config import ConfigError


def test_defaults_are_a_working_loopback_setup(tmp_path: Path) -> None:
    s = config.load(None, env={"CALLCORE_RUN_DIR": str(tmp_path)})
    assert s.asterisk.host == "127.0.0.1" and s.api.host == "127.0.0.1"
    assert s.database_url == f"sqlite+aiosqlite:///{tmp_path / 'callcore.db'}"
    assert s.queues_file == Path(config.__file__).resolve().parents[1] / "queues" / "queues.yaml"


def test_file_then_environment_then_secrets(tmp_path: Path) -> None:
    toml = tmp_path / "callcore.toml"
    toml.write_text('queues_file = "/srv/queues.yaml"\n[asterisk]\nsip_port = 5999\n[api]\nport = 9000\n', encoding="utf-8")
    secrets = tmp_path / "secrets.env"
    secrets.write_text("CALLCORE_ARI_PASSWORD=from-file-123\nCALLCORE_API_TOKEN=file-token-123\n", encoding="utf-8")
    env = {"CALLCORE_API_PORT": "9100", "CALLCORE_SECRETS_FILE": str(secrets), "CALLCORE_API_TOKEN": "env-token-1234"}
    s = config.load(toml, env=env)
    assert s.asterisk.sip_port == 5999
    assert s.api.port == 9100  # the environment wins over the file
    assert s.queues_file == Path("/srv/queues.yaml")
    assert s.asterisk.ari_password == "from-file-123"
    assert s.api.token == "env-token-1234"  # the environment wins over the secrets file


def test_secrets_in_the_config_file_are_refused(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('[asterisk]\nari_password = "oops"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="asterisk.ari_password is a secret"):
        config.load(toml, env={})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CALLCORE_ASTERISK_SIP_PORT": "fifty"}, "expected an integer"),
        ({"CALLCORE_ASTERISK_BENCH_EXTENSION": "perhaps"}, "expected a boolean"),
        ({"CALLCORE_ASTERISK_AGENTS": "1001-1005"}, r"asterisk.agents: unknown setting \(agents are kept in the store"),
    ],
)
def test_bad_values_name_the_key(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config.load(None, env=env)


def test_unknown_key_in_file_is_an_error(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("[asterisk]\nsip_prot = 5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="asterisk.sip_prot: unknown setting"):
        config.load(toml, env={})


def test_the_queue_catalog_file_comes_from_the_environment(tmp_path: Path) -> None:
    s = config.load(None, env={"CALLCORE_QUEUES_FILE": str(tmp_path / "q.yaml"), "CALLCORE_IVR_DIR": str(tmp_path)})
    assert s.queues_file == tmp_path / "q.yaml" and s.ivr_dir == tmp_path


def test_agents_are_no_longer_settings(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('[asterisk]\nagents = [{number = "1001"}]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="callcore agents add"):
        config.load(toml, env={})
    # An old secrets file or environment with the shared agent password still loads; the value is unused.
    secrets = tmp_path / "secrets.env"
    secrets.write_text("CALLCORE_AGENT_PASSWORD=old-shared-123\n", encoding="utf-8")
    config.load(None, env={"CALLCORE_SECRETS_FILE": str(secrets), "CALLCORE_AGENT_PASSWORD": "old-shared-123"})


def test_weak_or_missing_secrets_are_refused(tmp_path: Path) -> None:
    s = config.load(None, env={"CALLCORE_RUN_DIR": str(tmp_path), "CALLCORE_ARI_PASSWORD": "asterisk"})
    with pytest.raises(ConfigError, match="ARI_PASSWORD"):
        s.check_secrets()


def test_generated_secrets_file_is_private_and_complete(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    config.write_secrets_file(path)
    assert path.stat().st_mode & 0o077 == 0
    s = config.load(None, env={"CALLCORE_SECRETS_FILE": str(path)})
    s.check_secrets()
    assert "AGENT_PASSWORD" not in path.read_text()  # agents have passwords of their own (callcore agents)
    before = path.read_text()
    config.write_secrets_file(path)  # never overwritten
    assert path.read_text() == before


def test_short_abandon_threshold_is_configurable_and_checked() -> None:
    assert config.load(None, env={"CALLCORE_CALLS_SHORT_ABANDON_SECONDS": "3.5"}).calls.short_abandon_seconds == 3.5
    with pytest.raises(config.ConfigError, match="short_abandon_seconds"):
        config.load(None, env={"CALLCORE_CALLS_SHORT_ABANDON_SECONDS": "-1"})
