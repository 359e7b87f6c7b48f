"""Import hygiene: the engine and the command line never load Textual (only the bare
``libdesk`` command that opens the app may), and every command has help text.

Each engine module is imported in a fresh interpreter with a watcher on the import system
that records any attempt to import ``textual`` (even one caught by ``except ImportError``);
the rest of the package in one more; the interpreters run two at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import pkgutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

import libdesk
from libdesk import cli

ENGINE_MODULES = [
    "libdesk", "libdesk.cli", "libdesk.core", "libdesk.scan", "libdesk.routing", "libdesk.circulation",
    "libdesk.requests", "libdesk.workorders", "libdesk.receiving", "libdesk.queries", "libdesk.importing",
    "libdesk.demo", "libdesk.config", "libdesk.db", "libdesk.institution",
]


def other_modules() -> list[str]:
    """Every other module of the package (new ones included)."""
    found = {m.name for m in pkgutil.walk_packages(libdesk.__path__, "libdesk.")}
    return sorted(found - set(ENGINE_MODULES))


OTHER_MODULES = other_modules()

WATCH = textwrap.dedent("""
    import importlib.abc, json, sys

    attempts = []

    class Watch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "textual" or name.startswith("textual."):
                attempts.append(name)
            return None

    sys.meta_path.insert(0, Watch())

    def report():
        loaded = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
        print("WATCH " + json.dumps({"attempts": attempts, "loaded": loaded}))
""")


def run_watched(body: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], dict]:
    code = WATCH + textwrap.dedent(body) + "\nreport()\n"
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60,
                          env=env, cwd=Path(__file__).resolve().parents[1])
    reports = [line for line in proc.stdout.splitlines() if line.startswith("WATCH ")]
    assert proc.returncode == 0 and reports, f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    return proc, json.loads(reports[-1][len("WATCH "):])


# The rest of the package is imported in one more fresh interpreter, module after module,
# noting what each import brought in (a Python start-up per module is half a second each).
IMPORT_EACH = """
import importlib, traceback
per = {}
for name in NAMES:
    before_attempts = len(attempts)
    before = {m for m in sys.modules if m == "textual" or m.startswith("textual.")}
    try:
        importlib.import_module(name)
        error = None
    except Exception:
        error = traceback.format_exc()
    now = {m for m in sys.modules if m == "textual" or m.startswith("textual.")}
    per[name] = {"attempts": attempts[before_attempts:], "loaded": sorted(now - before), "error": error}
print("PER " + json.dumps(per))
"""


def import_others() -> dict[str, dict]:
    proc, _ = run_watched(f"NAMES = {OTHER_MODULES!r}\n" + IMPORT_EACH)
    line = next(line for line in proc.stdout.splitlines() if line.startswith("PER "))
    return json.loads(line[len("PER "):])


@pytest.fixture(scope="module")
def imports() -> Iterator[dict[str, Future]]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {"others": pool.submit(import_others)}
        futures.update({name: pool.submit(run_watched, f"import {name}\n") for name in ENGINE_MODULES})
        yield futures
        for future in futures.values():
            future.cancel()


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_module_does_not_import_textual(module: str, imports: dict[str, Future]) -> None:
    """Each engine module, alone in a fresh interpreter."""
    _, seen = imports[module].result()
    assert not seen["loaded"], f"importing {module} loaded {seen['loaded']}"
    assert not seen["attempts"], f"importing {module} tried to import {seen['attempts']}"


@pytest.mark.parametrize("module", OTHER_MODULES)
def test_other_module_does_not_import_textual(module: str, imports: dict[str, Future]) -> None:
    seen = imports["others"].result()[module]
    assert seen["error"] is None, f"importing {module} failed:\n{seen['error']}"
    assert not seen["loaded"], f"importing {module} loaded {seen['loaded']}"
    assert not seen["attempts"], f"importing {module} tried to import {seen['attempts']}"


def test_engine_modules_exist() -> None:
    found = {m.name for m in pkgutil.walk_packages(libdesk.__path__, "libdesk.")}
    missing = [m for m in ENGINE_MODULES if m not in found and m != "libdesk"]
    assert not missing, f"not in the package: {missing}"


def test_cli_commands_do_not_import_textual(tmp_path: Path) -> None:
    """Running real commands (init, import, scan, item show, --help) loads no Textual."""
    items = tmp_path / "items.csv"
    items.write_text("barcode,title,author,call_number,material_type,library,location\n"
                     "WID-0001,A Book,Author,QA 1,BOOK,WID,WID-STACKS\n", encoding="utf-8")
    db = tmp_path / "desk.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBDESK_")}
    env.update(LIBDESK_HOME=str(tmp_path / "home"), LIBDESK_FROZEN_TIME="2026-03-02T09:00:00")
    commands = [["--db", str(db), "init"], ["--db", str(db), "import", "items", str(items)],
                ["--db", str(db), "--operator", "cc", "scan", "WID-0001", "--at", "CCWID", "--status", "Pocket"],
                ["--db", str(db), "item", "show", "WID-0001", "--json"], ["--help"], ["scan", "--help"]]
    body = f"""
        import contextlib, io
        from libdesk.cli import main
        codes = []
        for argv in {commands!r}:
            with contextlib.redirect_stdout(io.StringIO()):
                try:
                    codes.append(main(argv))
                except SystemExit as exc:
                    codes.append(exc.code)
        print("CODES", codes)
    """
    proc, seen = run_watched(body, env)
    assert "CODES [0, 0, 0, 0, 0, 0]" in proc.stdout, proc.stdout + proc.stderr
    assert not seen["loaded"] and not seen["attempts"], seen


def test_libdesk_help() -> None:
    """``libdesk --help`` (the console script next to this Python) lists every command."""
    script = Path(sys.executable).with_name("libdesk")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "libdesk.cli"]
    proc = subprocess.run([*argv, "--help"], check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.startswith("usage: libdesk")
    for name, help_text in subcommands(cli.build_parser()):
        if " " not in name:
            assert name in proc.stdout, f"libdesk --help does not list {name}"
            assert help_text.split()[0] in proc.stdout, f"libdesk --help does not show the help of {name}"


def subcommands(parser: argparse.ArgumentParser, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Every (sub)command of the parser, nested ones as "request place", with its help."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                full = f"{prefix}{name}"
                yield full, helps.get(name) or ""
                yield from subcommands(sub, full + " ")


def test_every_subcommand_has_help_text() -> None:
    commands = list(subcommands(cli.build_parser()))
    assert len(commands) > 20
    missing = [name for name, help_text in commands if not help_text.strip()]
    assert not missing, f"subcommands without help text: {missing}"


def test_every_subcommand_is_named_in_its_usage() -> None:
    """A subcommand group's usage line (its metavar) names every subcommand, so that
    ``libdesk request`` alone tells the person all they can do."""
    def groups(parser: argparse.ArgumentParser, prefix: str = "libdesk") -> Iterator[tuple[str, argparse.Action]]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                yield prefix, action
                for name, sub in action.choices.items():
                    yield from groups(sub, f"{prefix} {name}")

    for where, action in groups(cli.build_parser()):
        if action.metavar is None or action.metavar == "COMMAND":
            continue  # argparse lists the choices itself, or the help lists them all
        named = set(str(action.metavar).split("|"))
        assert named == set(action.choices), (
            f"{where}: usage names {sorted(named)}, the subcommands are {sorted(action.choices)}")


@pytest.mark.parametrize("command", sorted({n for n, _ in subcommands(cli.build_parser())}))
def test_subcommand_help_runs(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``libdesk COMMAND --help`` prints its usage and exits 0 (in process: no database)."""
    with pytest.raises(SystemExit) as exc:
        cli.main([*command.split(), "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: libdesk {command}")
