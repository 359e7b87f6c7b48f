"""Paths and the workstation settings file.

Where things live (platformdirs, or everything under ``LIBDESK_HOME`` when it is set, which
tests and portable installs use):
- the database: ``<user data dir>/libdesk.db`` unless ``--db`` or ``LIBDESK_DATABASE_URL``
  (or ``database_url`` in the settings file) says otherwise;
- the settings file: ``<user config dir>/settings.toml``: the operator, the sticky Scan In
  settings (Currently At, status, Done: S1) and scanner settings;
- exports the app suggests: the user's documents folder.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from libdesk.errors import ConfigError

APP_NAME = "libdesk"


def _home() -> Path | None:
    home = os.environ.get("LIBDESK_HOME")
    return Path(home).expanduser() if home else None


def data_dir() -> Path:
    home = _home()
    if home is not None:
        return home
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)


def config_dir() -> Path:
    home = _home()
    if home is not None:
        return home
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False)


def export_dir() -> Path:
    """The folder the app suggests for an export: the user's documents folder (platformdirs:
    ~/Documents, or the XDG documents folder), not the folder the app was started from; the
    home folder when there is no documents folder."""
    from platformdirs import user_documents_path

    documents = user_documents_path()
    return documents if documents.is_dir() else Path.home()


def default_db_path() -> Path:
    return data_dir() / "libdesk.db"


def settings_path() -> Path:
    return Path(os.environ.get("LIBDESK_SETTINGS") or config_dir() / "settings.toml")


def session_path() -> Path:
    """This workstation's signed sign-in sessions (mode 0600), beside the settings file."""
    return settings_path().with_name("session.json")


@dataclass
class Settings:
    """One workstation's settings; the sticky ones survive restarts (S1)."""

    operator: str = "admin"
    currently_at: str | None = None
    status: str | None = None
    done: bool = False
    auto_slips: bool = False
    """Print the transit or hold slip of every item Scan In or Return Items sends on (else one
    key, ctrl+k, prints it)."""
    database_url: str | None = None
    serial: dict[str, Any] = field(default_factory=dict)
    wedge: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, Any] = field(default_factory=dict)
    statuses: dict[str, Any] = field(default_factory=dict)
    """Set Status To remembered per department (place code -> status): sticky across moves."""


_SCALARS = {"operator": str, "currently_at": str, "status": str, "done": bool, "auto_slips": bool,
            "database_url": str}
_TABLES = ("serial", "wedge", "keys", "statuses")


def load_settings(path: Path | None = None) -> Settings:
    """Read the settings file (defaults when it does not exist).

    Raises:
        ConfigError: not TOML, or a key of the wrong kind (the file and key are named).
    """
    path = path or settings_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read settings: {exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: settings file is not valid TOML: {exc}") from None
    settings = Settings()
    for key, value in raw.items():
        if key in _SCALARS:
            if not isinstance(value, _SCALARS[key]):
                raise ConfigError(f"{path}: {key}: must be {_SCALARS[key].__name__}, not {type(value).__name__}")
            setattr(settings, key, value)
        elif key in _TABLES:
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: {key}: must be a table")
            setattr(settings, key, value)
        else:
            known = ", ".join([*_SCALARS, *_TABLES])
            raise ConfigError(f"{path}: {key}: unknown setting (known: {known})")
    return settings


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ConfigError(f"cannot write setting value {value!r}")


def dump_settings(settings: Settings) -> str:
    lines = ["# libdesk workstation settings (written by libdesk; safe to edit)"]
    data = asdict(settings)
    for f in fields(settings):
        if f.name in _SCALARS and data[f.name] is not None:
            lines.append(f"{f.name} = {_toml_value(data[f.name])}")
    for table in _TABLES:
        if data[table]:
            lines.append("")
            lines.append(f"[{table}]")
            for key, value in data[table].items():
                lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write the settings file atomically (a crash never leaves half a file).

    Raises:
        ConfigError: the folder or file is not writable.
    """
    path = path or settings_path()
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(dump_settings(settings), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot save settings: {exc.strerror}") from None
    return path
