"""The libdesk desk app (Textual): one module per Alma screen, shared widgets in ``widgets/``.

``screens`` imports ``libdesk``; ``libdesk`` never imports ``screens`` or Textual (the CLI's
bare ``libdesk`` command imports :func:`screens.app.run_app` lazily).
"""
