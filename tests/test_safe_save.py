"""Saving a report never deletes what it did not check (issue 15, items 1-3).

* a file that appears in the output folder while the report is being written survives, and
  the save says so; of two saves into the same folder exactly one succeeds;
* ``force`` replaces only an earlier riskeval report, never a user's files, and a failed final
  step puts the earlier report back;
* the private temporary folder is removed when the save is interrupted (SIGINT, SIGTERM), and
  one left by a killed process is removed by the next save.
"""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import riskeval as rv
from riskeval import RiskevalError
from riskeval.audit import _report, audit

COLUMNS = ["case", "officer", "office", "rating"]
ROLES = ["--case", "case", "--rater", "officer", "--rating", "rating", "--office", "office",
         "--no-ordinal", "--quiet"]
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

# a CLI run whose save is slowed down (0.3 s per figure), so a signal can land inside it
SLOW_CLI = """
import sys, time
from riskeval.audit import _report
png = _report._png
_report._png = lambda fig: (time.sleep(0.3), png(fig))[1]
from riskeval.cli import main
sys.exit(main(sys.argv[1:]))
"""

# the library alone (no CLI, so SIGTERM has its default action), its save slowed down likewise
SLOW_SAVE = """
import sys, time
import pandas as pd
import riskeval as rv
from riskeval.audit import _report, audit
png = _report._png
_report._png = lambda fig: (time.sleep(0.3), png(fig))[1]
result = audit(pd.read_csv(sys.argv[1]), case="case", rater="officer", rating="rating",
               office="office", categories=list(rv.RISK_LEVELS), ordinal=False,
               progress=False)
result.save(sys.argv[2])
"""


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    sim = rv.simulate(rv.world.scenarios.six_office_study(n_vignettes=8), seed=1)[COLUMNS]
    return pd.read_csv(io.StringIO(sim.to_csv(index=False)))


@pytest.fixture(scope="module")
def result(ratings) -> rv.audit.Audit:
    return audit(ratings, case="case", rater="officer", rating="rating", office="office",
                 categories=list(rv.RISK_LEVELS), ordinal=False, progress=False)


def hidden(folder: Path) -> list[str]:
    """Hidden (temporary) entries beside the output folder."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def is_report(folder: Path) -> bool:
    return (folder / "report.html").is_file() and (folder / "summary.json").is_file() \
        and (folder / "tables" / "agreement.csv").is_file()


def during_write(monkeypatch, action) -> None:
    """Run ``action`` while the report is being written (after the checks, before it is
    moved into place)."""
    render = _report.render_html

    def slow(*args, **kwargs):
        action()
        return render(*args, **kwargs)
    monkeypatch.setattr(_report, "render_html", slow)


def fail_final_rename(monkeypatch, out: Path) -> None:
    """Every rename of a temporary folder onto ``out`` fails (e.g. a full or read-only disk)."""
    def failing(real):
        def rename(src, dst, *args, **kwargs):
            if Path(dst) == out and "tmp" in Path(src).name:
                raise OSError(5, "Input/output error (simulated)", str(dst))
            return real(src, dst, *args, **kwargs)
        return rename
    for name in ("replace", "rename"):
        monkeypatch.setattr(os, name, failing(getattr(os, name)))
    if hasattr(_report, "_rename_noreplace"):
        monkeypatch.setattr(_report, "_rename_noreplace", failing(_report._rename_noreplace))


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def slow_cli(src: Path, out: Path, *extra: str) -> subprocess.Popen:
    return python(SLOW_CLI, "audit", src, *ROLES, *extra, "-o", out)


def python(script: str, *argv: object) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(Path(rv.__file__).parents[1]))
    return subprocess.Popen([sys.executable, "-c", script, *map(str, argv)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_temporary(parent: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if hidden(parent):
            time.sleep(0.2)          # inside the (slowed) writing of the figures
            return
        if proc.poll() is not None:
            raise AssertionError(f"the audit ended before its save: {proc.communicate()}")
        time.sleep(0.005)
    raise AssertionError("no temporary folder appeared")


# ------------------------------------------------------------ 1. no race deletes a file


def test_a_file_written_into_the_empty_folder_during_the_save_survives(result, tmp_path,
                                                                        monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    during_write(monkeypatch, lambda: (out / "notes.txt").write_text("written meanwhile"))
    with pytest.raises(RiskevalError, match=r"out.*changed while the report was written"):
        result.save(out)
    assert (out / "notes.txt").read_text() == "written meanwhile"
    assert hidden(tmp_path) == []


def test_a_folder_created_during_the_save_is_not_replaced(result, tmp_path, monkeypatch):
    out = tmp_path / "out"
    def create():
        out.mkdir()
        (out / "notes.txt").write_text("written meanwhile")
    during_write(monkeypatch, create)
    with pytest.raises(RiskevalError, match=r"out.*appeared while the report was written"):
        result.save(out)
    assert files(out) == {"notes.txt": b"written meanwhile"}
    assert hidden(tmp_path) == []


def test_a_report_written_during_a_forced_save_is_not_deleted(result, tmp_path, monkeypatch):
    out = tmp_path / "out"
    result.save(out)
    during_write(monkeypatch, lambda: (out / "notes.txt").write_text("added meanwhile"))
    with pytest.raises(RiskevalError, match=r"notes\.txt"):
        result.save(out, force=True)
    assert (out / "notes.txt").read_text() == "added meanwhile" and is_report(out)
    assert hidden(tmp_path) == []


@pytest.mark.parametrize("exists", [False, True], ids=["new folder", "empty folder"])
def test_of_two_saves_into_one_folder_exactly_one_succeeds(result, tmp_path, monkeypatch,
                                                           exists):
    out = tmp_path / "out"
    if exists:
        out.mkdir()
    both_written = threading.Barrier(2, timeout=60)
    during_write(monkeypatch, both_written.wait)
    outcome: list[object] = []

    def one_save():
        try:
            outcome.append(result.save(out))
        except RiskevalError as exc:
            outcome.append(exc)
    threads = [threading.Thread(target=one_save) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    errors = [o for o in outcome if isinstance(o, RiskevalError)]
    assert len(outcome) == 2 and len(errors) == 1, outcome
    assert "out" in str(errors[0])
    assert is_report(out)
    assert hidden(tmp_path) == []


# ------------------------------------------------------------ 2. --force replaces only a report


def test_force_refuses_a_folder_of_other_files_and_names_them(result, tmp_path):
    out = tmp_path / "Documents"
    out.mkdir()
    (out / "notes.docx").write_bytes(b"the user's notes")
    with pytest.raises(RiskevalError, match=r"Documents.*not an earlier riskeval report"
                                            r".*notes\.docx"):
        result.save(out, force=True)
    assert files(out) == {"notes.docx": b"the user's notes"}
    assert hidden(tmp_path) == []


def test_force_refuses_a_hard_link_to_the_input(result, tmp_path, ratings):
    data = tmp_path / "ratings.csv"
    ratings.to_csv(data, index=False)
    out = tmp_path / "out"
    out.mkdir()
    os.link(data, out / "copy.csv")
    with pytest.raises(RiskevalError, match=r"copy\.csv"):
        result.save(out, force=True)
    assert (out / "copy.csv").read_bytes() == data.read_bytes()
    assert data.stat().st_nlink == 2


def test_force_replaces_an_earlier_report(result, tmp_path):
    out = tmp_path / "out"
    result.save(out)
    before = files(out)
    (out / "report.html").unlink()              # a file the user removed is no obstacle
    assert result.save(out, force=True) == out / "report.html"
    assert files(out) == before
    assert hidden(tmp_path) == []


def test_every_report_lists_its_files_in_a_marker(result, tmp_path):
    out = tmp_path / "out"
    result.save(out)
    marker = json.loads((out / ".riskeval-report").read_text(encoding="utf-8"))
    assert marker["riskeval_version"] == rv.__version__
    assert set(marker["files"]) == set(files(out)) - {".riskeval-report"}


@pytest.mark.parametrize("where", ["notes.txt", "tables/my_notes.csv"])
def test_force_refuses_a_report_with_files_the_user_added(result, tmp_path, where):
    out = tmp_path / "out"
    result.save(out)
    (out / where).write_text("my own notes")
    with pytest.raises(RiskevalError, match=rf"riskeval did not write.*{where}"):
        result.save(out, force=True)
    assert (out / where).read_text() == "my own notes" and is_report(out)


def test_force_refuses_a_report_the_user_edited(result, tmp_path):
    out = tmp_path / "out"
    result.save(out)
    (out / "report.html").write_text("<p>my annotations</p>")
    with pytest.raises(RiskevalError, match=r"changed since riskeval wrote.*report\.html"):
        result.save(out, force=True)
    assert (out / "report.html").read_text() == "<p>my annotations</p>"


def test_force_replaces_a_report_of_an_earlier_version_without_marker(result, tmp_path):
    out = tmp_path / "out"
    result.save(out)
    (out / ".riskeval-report").unlink()
    result.save(out, force=True)
    assert is_report(out)
    (out / ".riskeval-report").unlink()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(RiskevalError, match=r"notes\.txt"):
        result.save(out, force=True)
    assert (out / "notes.txt").read_text() == "mine"


def test_a_failed_final_rename_puts_the_earlier_report_back(result, tmp_path, monkeypatch):
    out = tmp_path / "out"
    result.save(out)
    before = files(out)
    fail_final_rename(monkeypatch, out)
    with pytest.raises(OSError, match="simulated"):
        result.save(out, force=True)
    assert files(out) == before
    assert hidden(tmp_path) == []


# ------------------------------------------------------------ 3. no temporary folder left


def test_the_temporary_folder_is_private(result, tmp_path, monkeypatch):
    modes = []
    during_write(monkeypatch, lambda: modes.extend(
        stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir() if p.name.startswith(".")))
    result.save(tmp_path / "out")
    assert modes == [0o700]


@posix_only
def test_ctrl_c_during_the_save_leaves_nothing(result, tmp_path, monkeypatch):
    out = tmp_path / "out"
    during_write(monkeypatch, lambda: os.kill(os.getpid(), signal.SIGINT))
    with pytest.raises(KeyboardInterrupt):
        result.save(out)
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


@posix_only
def test_sigterm_during_the_save_leaves_no_temporary_folder(tmp_path, ratings):
    src = tmp_path / "data" / "ratings.csv"
    src.parent.mkdir()
    ratings.to_csv(src, index=False)
    out = tmp_path / "data" / "out"
    proc = slow_cli(src, out)
    wait_for_temporary(src.parent, proc)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode in (-signal.SIGTERM, 130)    # 130: the CLI treats it as Ctrl-C
    assert sorted(p.name for p in src.parent.iterdir()) == ["ratings.csv"]


@posix_only
def test_sigterm_during_a_save_by_the_library_alone_leaves_nothing(tmp_path, ratings):
    """Without the CLI's handler: the save cleans up, then SIGTERM ends the process."""
    src = tmp_path / "ratings.csv"
    ratings.to_csv(src, index=False)
    proc = python(SLOW_SAVE, src, tmp_path / "out")
    wait_for_temporary(tmp_path, proc)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ratings.csv"]


@posix_only
def test_sigterm_during_a_forced_save_keeps_the_earlier_report(result, tmp_path, ratings):
    src = tmp_path / "ratings.csv"
    ratings.to_csv(src, index=False)
    out = tmp_path / "out"
    result.save(out)
    before = files(out)
    proc = slow_cli(src, out, "--force")
    wait_for_temporary(tmp_path, proc)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert files(out) == before
    assert hidden(tmp_path) == []


@posix_only
def test_the_next_save_removes_the_temporary_folder_of_a_killed_save(result, tmp_path,
                                                                     ratings):
    src = tmp_path / "ratings.csv"
    ratings.to_csv(src, index=False)
    out = tmp_path / "out"
    proc = slow_cli(src, out)
    wait_for_temporary(tmp_path, proc)
    proc.kill()
    proc.communicate(timeout=60)
    assert len(hidden(tmp_path)) == 1            # SIGKILL cannot be caught
    result.save(out)
    assert hidden(tmp_path) == [] and is_report(out)


def test_a_live_save_s_temporary_folder_is_left_alone(result, tmp_path):
    live = tmp_path / f".out.riskeval-tmp.{_report._host()}.{os.getppid()}.abcdefgh"
    live.mkdir()
    result.save(tmp_path / "out")
    assert hidden(tmp_path) == [live.name]


def test_an_earlier_report_moved_aside_by_a_killed_save_is_put_back(result, tmp_path):
    out = tmp_path / "out"
    result.save(out)
    before = files(out)
    aside = tmp_path / f".out.riskeval-old.{_report._host()}.{dead_pid()}.abcdefgh"
    out.rename(aside)                            # killed between its two renames
    with pytest.raises(RiskevalError, match="not empty"):
        result.save(out)
    assert files(out) == before and hidden(tmp_path) == []


def test_signal_handlers_are_restored_after_a_save(result, tmp_path):
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    result.save(tmp_path / "out")
    assert {s: signal.getsignal(s) for s in before} == before


def test_a_symbolic_link_to_a_folder_gets_the_report_and_stays_a_link(result, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    assert result.save(link) == link / "report.html"
    assert link.is_symlink() and is_report(real)
    result.save(link, force=True)
    assert link.is_symlink() and is_report(real) and hidden(tmp_path) == []


def test_a_new_folder_gets_the_mode_the_umask_gives(result, tmp_path):
    old = os.umask(0o027)
    try:
        result.save(tmp_path / "out")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o750


@posix_only
def test_of_two_audit_commands_into_one_folder_exactly_one_succeeds(tmp_path, ratings):
    src = tmp_path / "ratings.csv"
    ratings.to_csv(src, index=False)
    out = tmp_path / "out"
    procs = [slow_cli(src, out) for _ in range(2)]
    results = [(p.wait(timeout=120), p.communicate()[1]) for p in procs]
    assert sorted(code for code, _ in results) == [0, 2], results
    err = next(e for code, e in results if code == 2)
    assert "appeared while the report was written" in err and "out" in err
    assert is_report(out) and hidden(tmp_path) == []


def test_a_superseded_report_left_aside_is_removed_but_other_files_are_not(result, tmp_path):
    out = tmp_path / "out"
    result.save(out)
    pid = dead_pid()
    report = tmp_path / f".out.riskeval-old.{_report._host()}.{pid}.aaaaaaaa"
    result.save(report)
    mine = tmp_path / f".out.riskeval-old.{_report._host()}.{pid}.bbbbbbbb"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    result.save(out, force=True)
    assert hidden(tmp_path) == [mine.name]
    assert (mine / "notes.txt").read_text() == "mine"


def test_an_older_version_s_temporary_folder_is_removed_after_a_day(result, tmp_path):
    old, new = tmp_path / ".out.tmp-abcd1234", tmp_path / ".out.tmp-efgh5678"
    for folder in (old, new):
        folder.mkdir()
        (folder / "report.html").write_text("partial")
    day_ago = time.time() - 2 * 86400
    os.utime(old, (day_ago, day_ago))
    result.save(tmp_path / "out")
    assert hidden(tmp_path) == [new.name]


def test_a_refused_save_keeps_files_written_into_the_folders_it_made(result, tmp_path,
                                                                     monkeypatch):
    out = tmp_path / "deep" / "out"
    def create():
        out.mkdir()
        (out / "notes.txt").write_text("written meanwhile")
    during_write(monkeypatch, create)
    with pytest.raises(RiskevalError, match="appeared"):
        result.save(out)
    assert files(tmp_path) == {"deep/out/notes.txt": b"written meanwhile"}
