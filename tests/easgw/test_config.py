"""Configuration: defaults, file, environment, flags, validation, `config show`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from easgw.config import MASK, ConfigError, load_config, render_config


def test_defaults_are_the_contracts() -> None:
    config = load_config(env={})
    assert config.server.listen == "127.0.0.1:8080"
    assert config.server.max_body_bytes == 16 * 1024 * 1024
    assert config.server.data_dir == "./easgw-data"
    assert config.store.type == "sql"
    assert config.store.poll_seconds == 30
    assert config.auth.cache_seconds == 300
    assert (config.auth.max_failures, config.auth.lockout_seconds) == (10, 300)
    assert config.protocol.versions == ("12.0", "12.1", "14.0", "14.1", "16.0", "16.1")
    assert [(c.match, c.version) for c in config.protocol.max_version] == [
        ("apple|iphone|ipad|ios", "16.1"),
        (".*", "14.1"),
    ]
    assert config.policy.required is True
    assert config.devices.approval is False
    assert config.devices.max_per_user == 20
    assert (config.ping.min_heartbeat, config.ping.max_heartbeat) == (120, 1740)
    assert config.sync.max_window == 100
    assert config.smtp.port == 25
    assert config.database_url.startswith("sqlite+aiosqlite:///")
    assert config.store_url == config.database_url


def test_precedence_flag_over_env_over_file(tmp_path: Path) -> None:
    path = tmp_path / "easgw.toml"
    path.write_text('[server]\nlisten = "127.0.0.1:1111"\n[ping]\nmax_heartbeat = 900\n')
    config = load_config(path, env={})
    assert config.server.listen == "127.0.0.1:1111"
    config = load_config(path, env={"EASGW_SERVER__LISTEN": "127.0.0.1:2222"})
    assert config.server.listen == "127.0.0.1:2222"
    config = load_config(
        path,
        env={"EASGW_SERVER__LISTEN": "127.0.0.1:2222"},
        overrides={"server": {"listen": "127.0.0.1:3333"}},
    )
    assert config.server.listen == "127.0.0.1:3333"
    assert config.ping.max_heartbeat == 900


def test_environment_types() -> None:
    config = load_config(env={"EASGW_POLICY__REQUIRED": "false", "EASGW_SYNC__MAX_WINDOW": "50"})
    assert config.policy.required is False
    assert config.sync.max_window == 50


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EASGW_SERVER__LISTN": "x"}, "unknown setting server.listn"),
        ({"EASGW_NOPE__X": "1"}, "unknown section nope"),
        ({"EASGW_SYNC__MAX_WINDOW": "many"}, "expected an integer"),
        ({"EASGW_POLICY__REQUIRED": "perhaps"}, "expected true or false"),
        ({"EASGW_SERVER__TRUSTED_PROXIES": "10.0.0.1"}, "set it in the configuration file"),
        ({"EASGW_SERVER": "x"}, "EASGW_<SECTION>__<KEY>"),
    ],
)
def test_bad_environment(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(env=env)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[server]\nlisten = 'nohost'\n", "HOST:PORT"),
        ("[server]\ntls_cert = 'a.pem'\n", "together"),
        ("[store]\ntype = 'caldav'\n", "store.url is required"),
        ("[ping]\nmin_heartbeat = 2000\n", "min_heartbeat"),
        ("[protocol]\nversions = ['2.5']\n", "unknown protocol version"),
        ("[protocol]\nmax_version = [{match = 'x'}]\n", "match = ..., version"),
        ("[bogus]\nx = 1\n", "unknown section"),
        ("[policy]\ndocument = { NoSuchElement = 1 }\n", "not an EASProvisionDoc element"),
        ("server = 1\n", "must be a table"),
        ("[[conference.providers]]\ntype = 'jitsi'\n", "unique id"),
        ("[server\n", "inline configuration"),
    ],
)
def test_bad_files(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(env={}, text=text)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml", env={})


def test_render_masks_secrets_and_round_trips() -> None:
    text = """
[smtp]
host = "mail.example.com"
password = "p4ss"
from = "easgw@example.com"
[[conference.providers]]
id = "jitsi"
type = "jitsi"
base_url = "https://meet.example.com"
jwt_secret = "s3cret"
templates = { en = "Join: ${URL}" }
"""
    config = load_config(env={}, text=text)
    rendered = render_config(config)
    assert "p4ss" not in rendered
    assert "s3cret" not in rendered
    assert rendered.count(MASK) == 2
    assert 'from = "easgw@example.com"' in rendered
    # the rendering is valid TOML that loads to the same configuration (secrets aside)
    again = load_config(env={}, text=rendered)
    assert again.smtp.host == "mail.example.com"
    assert again.conference.providers[0]["base_url"] == "https://meet.example.com"
    assert again.protocol == config.protocol


def test_config_show_cli(tmp_path: Path) -> None:
    path = tmp_path / "easgw.toml"
    path.write_text('[smtp]\npassword = "hidden"\n')
    result = subprocess.run(
        [sys.executable, "-m", "easgw", "config", "show", "--config", str(path)],
        capture_output=True,
        check=False,
        timeout=60,
        env={"EASGW_SERVER__LISTEN": "127.0.0.1:9999", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert 'listen = "127.0.0.1:9999"' in out
    assert "hidden" not in out
    bad = subprocess.run(
        [sys.executable, "-m", "easgw", "config", "show", "--config", str(tmp_path / "no.toml")],
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert bad.returncode == 2
    assert len(bad.stderr.decode().strip().splitlines()) == 1
