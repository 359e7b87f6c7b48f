"""Small widgets shared by the desk screens, one per module (as posting's ``widgets/``)."""

from __future__ import annotations

from screens.widgets.desk_footer import DeskFooter
from screens.widgets.desk_header import DeskHeader
from screens.widgets.desk_table import DeskTable
from screens.widgets.result_banner import ResultBanner
from screens.widgets.scan_field import ScanField
from screens.widgets.scan_log import LogEntry, ScanLog

__all__ = ["DeskFooter", "DeskHeader", "DeskTable", "LogEntry", "ResultBanner", "ScanField", "ScanLog"]
