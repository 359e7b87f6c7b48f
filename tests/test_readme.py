"""The README is the user's manual: every key that the footer does not show, and every
command, must be in it (issue 12 item 7; issue 15 item 2)."""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.screen import ModalScreen, Screen

import screens
from libdesk.cli import build_parser
from screens.app import LibdeskApp

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _keys_section() -> str:
    match = re.search(r"^### Keys that are not in the footer\n(.*?)(?=^#)", README, re.M | re.S)
    assert match, "README lost its 'Keys that are not in the footer' section"
    return match.group(1)


def _hidden_bindings() -> list[tuple[str, str, str]]:
    """(owner, key, description) of every binding a full screen or the app keeps off the footer."""
    owners: list[type] = [LibdeskApp]
    for info in pkgutil.iter_modules(screens.__path__, "screens."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Screen) and not issubclass(cls, ModalScreen) and cls.__module__ == module.__name__:
                owners.append(cls)
    found = []
    for owner in owners:
        for binding in owner.__dict__.get("BINDINGS", []):
            if isinstance(binding, Binding) and not binding.show and not binding.system:
                for key in binding.key.split(","):
                    found.append((owner.__name__, key.strip(), binding.description))
    return found


@pytest.mark.parametrize(("owner", "key", "description"), _hidden_bindings())
def test_every_key_off_the_footer_is_in_the_readme(owner: str, key: str, description: str) -> None:
    rows = [line for line in _keys_section().splitlines() if line.startswith("|")]
    cells = [re.split(r"\s*/\s*", line.split("|")[2].strip()) for line in rows[2:]]
    assert any(key in row for row in cells), f"{owner}: {key} ({description}) is not in the README's keys table"


def _commands(parser: argparse.ArgumentParser, prefix: str = "libdesk") -> list[str]:
    out = []
    for action in parser._actions:  # argparse keeps subcommands only here
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out.append(f"{prefix} {name}")
                out.extend(_commands(sub, f"{prefix} {name}"))
    return out


@pytest.mark.parametrize("command", _commands(build_parser()))
def test_every_command_is_in_the_readme(command: str) -> None:
    """The commands table may group subcommands (`libdesk borrowing send|cancel ID`)."""
    *group, name = command.split()
    cells = [line.split("|")[1] if not line.startswith("| `") else line[2:].split("` |")[0]
             for line in README.splitlines() if line.startswith("| `libdesk")]
    prefix = " ".join(group)
    listed = any(cell.lstrip("`").startswith(prefix) and name in re.findall(r"[a-z][a-z0-9-]*", cell[len(prefix) + 1:])
                 for cell in cells)
    assert listed, f"{command} is not in the README's commands table"


def test_no_link_points_outside_the_repository() -> None:
    """A user has only the repository: every relative link and picture must be in it."""
    root = Path(__file__).resolve().parent.parent
    assert "../" not in README
    for target in re.findall(r"\]\(([^)#\s]+)\)", README):
        if "://" not in target:
            assert (root / target).exists(), f"README links to {target}, which is not in the repository"
