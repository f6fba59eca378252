"""easgw's configuration: one schema, loaded once into a frozen object.

Precedence (CONTRACTS.md section 3): command-line flag > environment >
file > default. The file is TOML (``--config FILE``); the environment uses
``EASGW_<SECTION>__<KEY>`` (``EASGW_SERVER__LISTEN=0.0.0.0:8443``). Lists and
tables of tables (conference providers) come only from the file. Unknown keys
are errors, so a typo never passes silently. docs/configuration.md documents
every key with its default.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from protocol.provision import policy_document

__all__ = ["Config", "ConfigError", "load_config", "render_config"]

MASK = "********"
#: Keys whose values never appear in `config show` or in logs.
SECRET_KEYS = frozenset({"password", "secret", "jwt_secret", "token"})


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the key."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig:
    listen: str = "127.0.0.1:8080"
    public_url: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    trusted_proxies: tuple[str, ...] = ()
    max_body_bytes: int = 16 * 1024 * 1024
    data_dir: str = "./easgw-data"


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseConfig:
    url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreConfig:
    type: str = "sql"
    url: str | None = None
    sync_method: str = "auto"
    poll_seconds: int = 30
    scheduling: str = "gateway"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthConfig:
    default_domain: str | None = None
    cache_seconds: int = 300
    max_failures: int = 10
    lockout_seconds: int = 300


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionCap:
    match: str
    version: str


DEFAULT_VERSIONS = ("12.0", "12.1", "14.0", "14.1", "16.0", "16.1")
DEFAULT_CAPS = (
    VersionCap(match="apple|iphone|ipad|ios", version="16.1"),
    VersionCap(match=".*", version="14.1"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtocolConfig:
    versions: tuple[str, ...] = DEFAULT_VERSIONS
    max_version: tuple[VersionCap, ...] = DEFAULT_CAPS


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyConfig:
    required: bool = True
    #: EASProvisionDoc fields (MS-ASPROV 2.2.2), by element name; unset = permissive.
    document: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class DevicesConfig:
    approval: bool = False
    max_per_user: int = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class PingConfig:
    min_heartbeat: int = 120
    max_heartbeat: int = 1740


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncConfig:
    max_window: int = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpConfig:
    host: str | None = None
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    # "from" is a Python keyword; the TOML key is `from`.
    from_: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordConfig:
    dir: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConferenceConfig:
    providers: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    protocol: ProtocolConfig = field(default_factory=ProtocolConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    devices: DevicesConfig = field(default_factory=DevicesConfig)
    ping: PingConfig = field(default_factory=PingConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    record: RecordConfig = field(default_factory=RecordConfig)
    conference: ConferenceConfig = field(default_factory=ConferenceConfig)

    @property
    def data_dir(self) -> Path:
        return Path(self.server.data_dir)

    @property
    def database_url(self) -> str:
        """The gateway's database: the configured URL, else SQLite in the data dir."""
        if self.database.url:
            return self.database.url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'easgw.sqlite3').resolve()}"

    @property
    def store_url(self) -> str | None:
        """The store's URL: for `sql` it defaults to the gateway's database."""
        if self.store.url:
            return self.store.url
        return self.database_url if self.store.type == "sql" else None


def _key(name: str) -> str:
    return "from" if name == "from_" else name


def _field_type(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


def _convert(value: Any, hint: Any, where: str) -> Any:  # noqa: C901
    """Check/convert one value (from TOML or an environment string) to ``hint``."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _convert(value, options[0], where)
    if hint is bool:
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected an integer, got {value!r}") from None
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if origin is tuple:
        (item,) = typing.get_args(hint)[:1]
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if item is VersionCap:
            return tuple(_version_cap(entry, f"{where}[{i}]") for i, entry in enumerate(value))
        if typing.get_origin(item) is Mapping or item is Mapping:
            if not all(isinstance(entry, dict) for entry in value):
                raise ConfigError(f"{where}: expected a list of tables")
            return tuple(types.MappingProxyType(dict(entry)) for entry in value)
        return tuple(_convert(entry, item, f"{where}[{i}]") for i, entry in enumerate(value))
    if origin is Mapping or hint is Mapping:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return types.MappingProxyType(dict(value))
    raise ConfigError(f"{where}: unsupported setting type")  # pragma: no cover


def _version_cap(entry: Any, where: str) -> VersionCap:
    if not isinstance(entry, dict) or set(entry) != {"match", "version"}:
        raise ConfigError(f"{where}: expected {{match = ..., version = ...}}")
    if entry["version"] not in DEFAULT_VERSIONS:
        raise ConfigError(f"{where}: unknown protocol version {entry['version']!r}")
    return VersionCap(match=str(entry["match"]), version=str(entry["version"]))


def _section_from(cls: type, raw: Mapping[str, Any], section: str) -> dict[str, Any]:
    names = {_key(f.name): f.name for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in names:
            raise ConfigError(f"unknown setting {section}.{key}")
        values[names[key]] = _convert(value, _field_type(cls, names[key]), f"{section}.{key}")
    return values


def _environment(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """``EASGW_<SECTION>__<KEY>`` variables, by section and key."""
    found: dict[str, dict[str, Any]] = {}
    for name, value in env.items():
        if not name.startswith("EASGW_"):
            continue
        section, sep, key = name[len("EASGW_") :].lower().partition("__")
        if not sep or not key:
            raise ConfigError(f"{name}: expected EASGW_<SECTION>__<KEY>")
        found.setdefault(section, {})[key] = value
    return found


def _merge(into: dict[str, dict[str, Any]], more: Mapping[str, Mapping[str, Any]]) -> None:
    for section, values in more.items():
        into.setdefault(section, {}).update(values)


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    text: str | None = None,
) -> Config:
    """Build the effective configuration.

    ``path``: the TOML file (optional); ``text``: TOML text merged over it
    (fixtures' ``[setup] config``); ``env``: the environment (default
    ``os.environ``); ``overrides``: command-line flags by section and key.
    """
    raw: dict[str, dict[str, Any]] = {}
    if path is not None:
        try:
            with open(path, "rb") as handle:
                _merge(raw, _check_tables(tomllib.load(handle), str(path)))
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    if text:
        try:
            _merge(raw, _check_tables(tomllib.loads(text), "inline configuration"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"inline configuration: {exc}") from None
    env_values = _environment(os.environ if env is None else env)
    for section, values in env_values.items():
        for key in values:
            _reject_list_from_env(section, key)
    _merge(raw, env_values)
    if overrides:
        _merge(raw, overrides)
    sections: dict[str, Any] = {}
    for f in fields(Config):
        cls = _field_type(Config, f.name)
        sections[f.name] = cls(**_section_from(cls, raw.pop(f.name, {}), f.name))
    if raw:
        raise ConfigError(f"unknown section [{sorted(raw)[0]}]")
    config = Config(**sections)
    _validate(config)
    return config


def _check_tables(data: Mapping[str, Any], where: str) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for section, values in data.items():
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: {section} must be a table ([{section}])")
        result[section] = dict(values)
    return result


def _reject_list_from_env(section: str, key: str) -> None:
    cls = next((_field_type(Config, f.name) for f in fields(Config) if f.name == section), None)
    if cls is None:
        raise ConfigError(f"EASGW_{section.upper()}__{key.upper()}: unknown section {section}")
    names = {_key(f.name): f.name for f in fields(cls)}
    if key not in names:
        raise ConfigError(
            f"EASGW_{section.upper()}__{key.upper()}: unknown setting {section}.{key}"
        )
    hint = _field_type(cls, names[key])
    if typing.get_origin(hint) in (tuple, Mapping) or hint is Mapping:
        raise ConfigError(f"{section}.{key} is a list or table: set it in the configuration file")


def _validate(config: Config) -> None:
    host, sep, port = config.server.listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"server.listen: expected HOST:PORT, got {config.server.listen!r}")
    if bool(config.server.tls_cert) != bool(config.server.tls_key):
        raise ConfigError("server.tls_cert and server.tls_key must be set together")
    if config.store.type == "caldav" and not config.store.url:
        raise ConfigError("store.url is required when store.type is caldav")
    if config.store.sync_method not in {"auto", "ctag"}:
        raise ConfigError("store.sync_method: expected auto or ctag")
    if config.store.scheduling not in {"gateway", "server"}:
        raise ConfigError("store.scheduling: expected gateway or server")
    if not 0 < config.ping.min_heartbeat <= config.ping.max_heartbeat:
        raise ConfigError("ping.min_heartbeat must be positive and <= ping.max_heartbeat")
    if config.sync.max_window < 1:
        raise ConfigError("sync.max_window must be at least 1")
    for version in config.protocol.versions:
        if version not in DEFAULT_VERSIONS:
            raise ConfigError(f"protocol.versions: unknown protocol version {version!r}")
    try:
        policy_document(config.policy.document)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    ids = [str(p.get("id", "")) for p in config.conference.providers]
    if len(set(ids)) != len(ids) or "" in ids:
        raise ConfigError("conference.providers: every provider needs a unique id")


# --------------------------------------------------------------------------
# `easgw config show`


def _masked(key: str, value: Any) -> Any:
    if key in SECRET_KEYS and value not in (None, ""):
        return MASK
    if isinstance(value, Mapping):
        return {k: _masked(k, v) for k, v in value.items()}
    return value


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, VersionCap):
        return f"{{ match = {_toml_value(value.match)}, version = {_toml_value(value.version)} }}"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return f"{{ {inner} }}" if inner else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot render {value!r}")  # pragma: no cover


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else _toml_value(key)


def render_config(config: Config) -> str:
    """The effective configuration as TOML, secrets masked; unset keys as comments."""
    lines: list[str] = []
    for section in fields(config):
        values = getattr(config, section.name)
        if section.name == "conference":
            continue
        lines.append(f"[{section.name}]")
        for f in fields(values):
            key, value = _key(f.name), _masked(_key(f.name), getattr(values, f.name))
            if value is None:
                lines.append(f"# {key} = (unset)")
            else:
                lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    for provider in config.conference.providers:
        lines.append("[[conference.providers]]")
        lines.extend(f"{_toml_key(k)} = {_toml_value(_masked(k, v))}" for k, v in provider.items())
        lines.append("")
    return "\n".join(lines)


def replace(config: Config, section: str, **values: Any) -> Config:
    """A copy of ``config`` with keys of one section replaced (tests, CLI flags)."""
    return dataclasses.replace(
        config, **{section: dataclasses.replace(getattr(config, section), **values)}
    )
