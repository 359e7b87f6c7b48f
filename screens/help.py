"""F1 Help: what the current screen is for, and the keys that work on it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static

from screens.dialog import Dialog


class HelpScreen(Dialog[None]):
    """The current screen's help text and its keys."""

    BINDINGS = [
        Binding("escape,f1,enter", "close", "Close", id="help-close"),
    ]

    SCAN_CLOSES = True
    """A scan closes the help and goes to the screen below (see screens.base.NoticePopup)."""

    def __init__(self, title: str, text: str, keys: list[tuple[str, str]]) -> None:
        super().__init__(id="help")
        self.help_title = title
        """The screen the help is about."""
        self.text = text
        """Its help (Markdown)."""
        self.keys = keys
        """(key as shown, what it does) for the keys that work here, as bound now (keymap included)."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            table = "\n".join(f"| {key} | {what} |" for key, what in self.keys)
            yield Markdown(f"# {self.help_title}\n\n{self.text}\n\n## Keys\n\n"
                           f"| Key | What it does |\n|---|---|\n{table}\n")
            yield Static("Esc, Enter or F1 closes", classes="dialog-keys")

    def action_close(self) -> None:
        self.dismiss(None)
