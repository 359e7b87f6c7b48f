"""Institution files and demo data shipped with libdesk (installed as ``libdesk.data``)."""
