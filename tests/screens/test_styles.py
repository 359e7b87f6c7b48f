"""Where the app's styles live (issue 15 item 4): full screens and pop-ups in the .tcss files
only, every pop-up a :class:`screens.dialog.Dialog`; reusable widgets keep their DEFAULT_CSS."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import tomllib
from pathlib import Path

from textual.screen import ModalScreen, Screen

import screens
from screens.app import LibdeskApp
from screens.dialog import Dialog

SCREENS_DIR = Path(screens.__file__).parent
REPO = SCREENS_DIR.parent

BORROWING: set[str] = set()
"""Modules left out of these checks: none (the Borrowing screens moved with issue 15)."""


def _screen_classes() -> list[type[Screen[object]]]:
    found = []
    for info in pkgutil.walk_packages([str(SCREENS_DIR)], "screens."):
        if info.name in BORROWING or info.ispkg:
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Screen) and cls.__module__ == module.__name__:
                found.append(cls)
    return found


def test_every_stylesheet_is_loaded_by_the_app() -> None:
    sheets = {p.name for p in SCREENS_DIR.glob("*.tcss")}
    assert sheets == set(LibdeskApp.CSS_PATH)  # type: ignore[arg-type]


def test_the_stylesheets_are_installed_with_the_package() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "*.tcss" in config["tool"]["setuptools"]["package-data"]["screens"]


def test_no_screen_or_pop_up_carries_css_of_its_own() -> None:
    classes = _screen_classes()
    assert len(classes) > 15
    inline = [cls.__name__ for cls in classes if "DEFAULT_CSS" in vars(cls) or "CSS" in vars(cls)]
    assert inline == []


def test_every_pop_up_is_a_dialog() -> None:
    modal = [cls for cls in _screen_classes() if issubclass(cls, ModalScreen)]
    # The sign-in screen covers the whole terminal: a screen, not a pop-up.
    not_dialogs = [cls.__name__ for cls in modal if not issubclass(cls, Dialog) and cls.__name__ != "SignInScreen"]
    assert not_dialogs == []
