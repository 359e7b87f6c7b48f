"""What the Borrowing Requests list and a request's detail share: the request's action menu
(built from the engine's table of transitions, :data:`libdesk.borrowing.TRANSITIONS`), the
pop-up each action needs, the engine call, its result, and the header's task count."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from textual.widgets.option_list import Option

from libdesk import borrowing
from libdesk.core import Result
from libdesk.db import Database
from libdesk.errors import LibdeskError
from screens.borrowing_action_dialog import ActionDialog, ActionForm, desk_choices
from screens.borrowing_menu import DETAILS, REPORT, action_menu
from screens.choosers import Chooser
from screens.item_dialogs import (
    ConfirmDialog,
)
from screens.list_base import ListScreen


class RequestActionsScreen(ListScreen):
    """What the Borrowing Requests list and a request's detail share: the request's action menu,
    the pop-up each action needs, the engine call, its result, and the header's task count."""

    db: Database

    def open_actions(self, request_id: int, *, first: str | None = None, hint: str = "",
                     extra: Iterable[str] = (), details: bool = True) -> None:
        """The action menu of request ``request_id`` (read now: the list may be a moment old)."""
        b = self.call_engine(borrowing.show, self.db, request_id)
        if b is None:
            return
        options = action_menu(b, first=first, extra=extra, details=details)
        if not any(isinstance(o, Option) and not o.disabled for o in options):
            self.result_line.show(f"Request {request_id} is {b['status_name']}: nothing more to do with it", "info")
            return
        chooser = Chooser(f"Request {request_id} · {b['status_name']} · {b['title']}", options,
                          note=hint, id="borrowing-actions")
        self.app.push_screen(chooser, lambda name: self.do_request_action(name, b) if name else None)

    def do_request_action(self, name: str, b: dict[str, Any]) -> None:
        """Do action ``name`` (a menu id) on request ``b``: ask what its row of the engine's
        table (:data:`libdesk.borrowing.TRANSITIONS`) says it needs, then call the engine."""
        if name == DETAILS:
            from screens.borrowing_detail import BorrowingDetailScreen  # lazy: it is one of these screens

            self.app.push_screen(BorrowingDetailScreen(self.db, int(b["id"])))
        elif name == REPORT:
            self.show_report()
        elif name.startswith("dismiss:"):
            self.perform(b, "dismiss", message_id=int(name.partition(":")[2]))
        elif name in borrowing.TRANSITIONS:
            self.ask_and_perform(borrowing.TRANSITIONS[name], b)
        else:
            self.result_line.error(f"{name}: not an action of this screen")

    def ask_and_perform(self, t: borrowing.Transition, b: dict[str, Any]) -> None:
        """What ``t`` needs, by its row: a choice (Chooser), a desk or a line of text (a pop-up),
        a confirmation, or nothing; then :func:`libdesk.borrowing.perform`."""
        inst = self.db.institution
        what = f"request {b['id']} · {b['title']}"
        title = borrowing.title(t.id, b)
        note, warning = borrowing.explain(t.id, b)
        choice = next((p for p in t.params if p.kind == "choice"), None)
        text = next((p for p in t.params if p.kind in ("text", "words")), None)
        if choice is not None:
            options: list[Option | None] = [Option(label, id=value)
                                            for value, label in zip(choice.choices, choice.choice_labels)]
            name = choice.name

            def chosen(value: str | None) -> None:
                if value:
                    self.perform(b, t.id, **{name: value})
            self.app.push_screen(Chooser(title, options, id=f"borrowing-{t.id}-{name}", note=note), chosen)
        elif t.at == borrowing.DESK or text is not None:
            desk = self._first_desk(t, b) if t.at == borrowing.DESK else None
            dialog = ActionDialog(
                f"{title} · {what}", note=note, desks=desk_choices(inst) if t.at == borrowing.DESK else None,
                desk=desk, text_label=text.label if text is not None else None,
                text=(b.get(text.prefill) or "") if text is not None and text.prefill else "",
                placeholder=text.placeholder if text is not None else "", ok=t.ok,
                id="borrowing-scan-in" if t.function == "scan_in" else f"borrowing-{t.id}")

            def answered(form: ActionForm | None) -> None:
                if form is not None:
                    answers = {text.name: form.text} if text is not None else {}
                    self.perform(b, t.id, at=form.desk, **answers)
            self.app.push_screen(dialog, answered)
        elif t.confirm:
            def confirmed(ok: bool | None) -> None:
                if ok:
                    self.perform(b, t.id)
            self.app.push_screen(ConfirmDialog(title, note, yes=t.ok, no="Back", danger=warning,
                                               id="borrowing-confirm"), confirmed)
        else:
            self.perform(b, t.id)

    def _first_desk(self, t: borrowing.Transition, b: dict[str, Any]) -> str | None:
        """The desk the pop-up offers first, by the row's ``desk_first``."""
        app = self.libdesk_app
        for source in t.desk_first:
            if source == "here":
                if app.place is not None and app.place.is_desk:
                    return app.currently_at
            elif b.get(source):
                return str(b[source])
        return None

    def perform(self, b: dict[str, Any], action_id: str, *, at: str | None = None, **answers: Any) -> Result | None:
        """The engine call of ``action_id`` on request ``b``: at the desk chosen, or where the
        operator is (Currently At), or (a loan) the request's pickup desk."""
        t = borrowing.TRANSITIONS[action_id]
        app = self.libdesk_app
        if at is None and t.at == borrowing.PLACE:
            at = app.currently_at
        return self.engine_action(lambda _: borrowing.perform(self.db, action_id, int(b["id"]), operator=app.operator,
                                                              at=at, **answers), None)

    def engine_action(self, call: Callable[[Any], Result], form: Any) -> Result | None:
        """Call the engine (``call(form)``): its message in the result line, a refusal in red
        (nothing changed); then the task count and the list again."""
        result = self.call_engine(call, form)
        if result is not None:
            self.show_result(result)
        self.update_task_count()
        self.action_finished()
        return result

    def show_result(self, result: Result) -> None:
        # The engine says how to show it: a completion that leaves the item where it should not
        # be is a warning.
        self.result_line.show(result.message, result.severity)

    def update_task_count(self) -> None:
        """The header's task count: active general messages from lenders (B6)."""
        try:
            self.libdesk_app.task_count = borrowing.task_count(self.db)
        except LibdeskError as exc:
            self.result_line.error(exc.message)

    def action_finished(self) -> None:
        """An action ended (done or refused): read again what the screen shows."""

    def show_report(self) -> None:
        """Open the report of requests not returned properly (the list screen has it)."""
