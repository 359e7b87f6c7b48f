"""The pop-ups of the item and request lists (Physical Items, item detail, In Process, Monitor),
one per module.

Each pop-up only collects an answer and hands it back typed (a :class:`screens.dialog.Dialog`);
the screen that opened it calls the engine, which validates and decides (STYLE.md section 2):

- :mod:`.confirm`: :class:`ConfirmDialog`, yes / no, the safe answer focused first;
- :mod:`.prompt`: :class:`PromptDialog`, one line of text (an expiry date, an export file name);
- :mod:`.request`: :class:`RequestDialog`, Request (patron, pickup desk), the row action of
  Physical Items;
- :mod:`.item_editor`: :class:`ItemEditorDialog`, the Physical Item Editor (work-order type and
  department), with Alma's warning that it skips the status and the transit steps (SPEC W12);
- :mod:`.request_edit`: :class:`RequestEditDialog`, Edit a request (note; a work order's
  department, same type);
- :mod:`.events`: :class:`EventsDialog`, a request's Audit Trail;
- :mod:`.cancel`: :func:`q5_explanation` and :func:`confirm_cancel` spell out what cancelling a
  request does at its workflow step (SPEC Q5) before anything is cancelled: Transit Item asks
  twice.

The names are also importable from the package itself, as they were from the single module
(the Borrowing screens import them so).
"""

from screens.item_dialogs.cancel import RequestInfo, confirm_cancel, q5_explanation
from screens.item_dialogs.confirm import ConfirmDialog
from screens.item_dialogs.events import EventsDialog, action_words, describe_change
from screens.item_dialogs.item_editor import EDITOR_WARNING, EditorForm, ItemEditorDialog
from screens.item_dialogs.prompt import PromptDialog
from screens.item_dialogs.request import RequestDialog, RequestForm
from screens.item_dialogs.request_edit import RequestEdit, RequestEditDialog

__all__ = [
    "EDITOR_WARNING", "ConfirmDialog", "EditorForm", "EventsDialog", "ItemEditorDialog",
    "PromptDialog", "RequestDialog", "RequestEdit", "RequestEditDialog", "RequestForm", "RequestInfo",
    "action_words", "confirm_cancel", "describe_change", "q5_explanation",
]
