"""The command-line tool: output, JSON, exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import riskeval as rv
from riskeval.cli import main
from riskeval.data.datasets import example_ratings, example_ratings_path

ARGS = ["--case", "vignette", "--rater", "officer", "--rating", "rosh",
        "--categories", "low,medium,high,very high"]


def test_agreement_json_matches_library(capsys):
    code = main(["agreement", example_ratings_path(), *ARGS, "--level", "ordinal",
                 "--office", "office", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    rows = {r["coefficient"]: r for r in out["coefficients"]}
    ex = example_ratings()
    alpha = rv.krippendorff_alpha(ex, case="vignette", rater="officer", rating="rosh",
                                  level="ordinal")
    got = rows["Krippendorff's alpha (ordinal)"]
    assert got["estimate"] == pytest.approx(alpha.estimate, abs=1e-12)
    assert (got["ci_low"], got["ci_high"]) == pytest.approx(alpha.ci, abs=1e-12)
    fk = rv.fleiss_kappa(ex, case="vignette", rater="officer", rating="rosh")
    assert rows["Fleiss' kappa"]["estimate"] == pytest.approx(fk.estimate, abs=1e-12)
    assert out["n_raters"] == 12 and out["n_cases"] == 24
    offices = {(r["office"], r["coefficient"]) for r in out["by_office"]}
    assert ("Coast", "Gwet's AC1") in offices and len(offices) == 6


def test_agreement_table_text(capsys):
    assert main(["agreement", example_ratings_path(), *ARGS]) == 0
    text = capsys.readouterr().out
    assert "Gwet's AC1" in text and "ICC2" in text and "95% CI" in text


def test_demo_writes_the_audit_of_the_six_office_study(tmp_path, capsys):
    out = tmp_path / "riskeval-demo"
    assert main(["demo", "--quiet", "-o", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == f"report: {out / 'report.html'}"
    summary = lines[2:]
    assert len(summary) == 5
    assert summary[0] == "1152 ratings of 24 cases by 48 officers in 6 offices."
    assert summary[1].startswith("Exact agreement 38.8%; Krippendorff's alpha (ordinal) 0.383")
    assert summary[4] == "Against the reference: 41.1% higher, 13.0% lower."
    assert (out / "report.html").is_file() and (out / "summary.json").is_file()
    # a second demo replaces its own earlier report; a folder of other files is refused
    assert main(["demo", "--quiet", "-o", str(out)]) == 0
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    capsys.readouterr()
    assert main(["demo", "--quiet", "-o", str(other)]) == 2
    assert "not an earlier riskeval report" in capsys.readouterr().err
    assert (other / "notes.txt").read_text() == "keep me"
    assert main(["demo", "--seed", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_raters"] == 48 and len(out["by_office"]) == 12
    ref = out["against_reference"]
    assert ref["off_reference"] == pytest.approx(ref["upward"] + ref["downward"])


def test_bad_column_exits_2_with_one_line(tmp_path, capsys):
    code = main(["agreement", example_ratings_path(), "--case", "vignete", "--rater",
                 "officer", "--rating", "rosh", "--categories", "low,medium,high,very high"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "Did you mean 'vignette'" in err


def test_unknown_category_and_empty_file(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"vignette": ["a", "a", "b", "b"], "officer": ["x", "y", "x", "y"],
                  "rosh": ["low", "hgih", "high", "high"]}).to_csv(bad, index=False)
    assert main(["agreement", str(bad), *ARGS]) == 2
    assert "'hgih'" in capsys.readouterr().err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert main(["agreement", str(empty), *ARGS]) == 2
    assert "empty" in capsys.readouterr().err


def test_numeric_interval_level(tmp_path, capsys):
    rng = np.random.default_rng(5)
    truth = rng.normal(size=30)
    rows = [{"case": i, "rater": j, "score": truth[i] + rng.normal(scale=0.5)}
            for i in range(30) for j in range(4)]
    path = tmp_path / "scores.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    code = main(["agreement", str(path), "--case", "case", "--rater", "rater", "--rating",
                 "score", "--level", "interval", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    names = [r["coefficient"] for r in out["coefficients"]]
    assert "Krippendorff's alpha (interval)" in names
    icc2 = next(r for r in out["coefficients"] if r["coefficient"].startswith("ICC2 "))
    assert 0.6 < icc2["estimate"] < 0.95  # true ICC = 1 / (1 + 0.25) = 0.8


def test_console_script_runs_as_module():
    proc = subprocess.run([sys.executable, "-m", "riskeval.cli", "agreement", "--help"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "example:" in proc.stdout


def test_diagnose_writes_the_table_and_plot(tmp_path, capsys):
    out = tmp_path / "diag"
    assert main(["diagnose", "--raters", "6", "--cases", "8", "--n-sims", "30", "--quiet",
                 "-o", str(out)]) == 0
    table = pd.read_csv(out / "diagnosis.csv")
    assert list(table["estimator"]) == ["ICC(2,1)", "Krippendorff's alpha"]
    assert (out / "diagnosis.png").stat().st_size > 1000
    assert "30 simulated studies" in capsys.readouterr().out
    from riskeval import studies as dz
    want = dz.diagnose(dz.rater_study(6, 8), n_sims=30, seed=1).table
    assert table["bias"].to_numpy() == pytest.approx(want["bias"].to_numpy(), abs=1e-12)
    assert main(["diagnose", "--raters", "6", "--cases", "8", "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["diagnose", "--raters", "1", "--cases", "8", "-o", str(tmp_path / "x")]) == 2
    assert main(["diagnose", "--raters", "10", "--cases", "12", "--n-sims", "20", "--quiet",
                 "--null-icc", "0.3", "-o", str(tmp_path / "p")]) == 0
    assert "to show ICC > 0.3" in capsys.readouterr().out
    tested = pd.read_csv(tmp_path / "p" / "diagnosis.csv").set_index("estimator")
    assert 0 <= tested.loc["ICC(2,1)", "power"] <= 1
    # the other named designs
    assert main(["diagnose", "--design", "skills", "--officers", "20", "--supervisees", "10",
                 "--n-sims", "6", "--quiet", "-o", str(tmp_path / "s")]) == 0
    trial = pd.read_csv(tmp_path / "s" / "diagnosis.csv")
    want = dz.diagnose(dz.skills_trial(n_officers=20, supervisees_per_officer=10),
                       n_sims=6, seed=1).table
    assert trial["power"].to_numpy() == pytest.approx(want["power"].to_numpy())
    assert main(["diagnose", "--design", "training", "--offices", "2", "--officers", "4",
                 "--cases", "8", "--noise-factor", "0.5", "--n-sims", "4", "--quiet",
                 "-o", str(tmp_path / "t")]) == 0
    assert "ICC3: trained - untrained" in capsys.readouterr().out
    assert (tmp_path / "t" / "diagnosis.png").stat().st_size > 1000
    assert main(["diagnose", "--design", "world", "--offices", "3", "--officers", "2",
                 "-o", str(tmp_path / "w")]) == 2
    assert "--design world needs --cases" in capsys.readouterr().err


# ----------------------------------------------------------------------------- logs and signals


def _small_ratings(tmp_path):
    sim = rv.simulate(rv.world.scenarios.six_office_study(), seed=1)
    sim = sim[sim["office"].isin(sorted(sim["office"].unique())[:2])]
    path = tmp_path / "r.csv"
    sim[["case", "officer", "office", "rating"]].to_csv(path, index=False)
    return path


AUDIT = ["--case", "case", "--rater", "officer", "--rating", "rating", "--no-ordinal"]


def test_progress_is_one_plain_line_per_step_when_stderr_is_not_a_terminal(tmp_path, capsys):
    """Under `make demo` stderr is a log file: no carriage returns, one line per step."""
    src = _small_ratings(tmp_path)
    assert main(["audit", str(src), *AUDIT, "--office", "office", "-o", str(tmp_path / "o")]) \
        == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = err.splitlines()
    assert lines[0] == "riskeval audit: step 1/9: agreement"
    assert 5 <= len(lines) <= 9
    assert all(line.startswith("riskeval audit: step ") for line in lines)


_WARNS = ("import warnings, riskeval as rv, riskeval.audit as a, riskeval.cli as c\n"
          "def warns(*args, **kw):\n"
          "    warnings.warn('a library talks', FutureWarning, stacklevel=1)\n"
          "    warnings.warn('riskeval explains\\n  over two lines', rv.RiskevalWarning,\n"
          "                  stacklevel=1)\n"
          "    raise rv.RiskevalError('stopped here')\n"
          "a.audit = warns\n"
          "import sys; sys.exit(c.main(sys.argv[1:]))\n")


def test_warnings_are_one_line_notes_and_silent_under_quiet(tmp_path):
    """pandas' and matplotlib's warnings (with their file paths) never reach stderr under
    --quiet; otherwise every warning is one line without a path."""
    src = _small_ratings(tmp_path)

    def run(*extra):
        proc = subprocess.run([sys.executable, "-c", _WARNS, "audit", str(src), *AUDIT,
                               *extra, "-o", str(tmp_path / "o")],
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 2, proc.stderr
        return proc.stderr

    assert run("--quiet") == "riskeval: error: stopped here\n"
    assert run().splitlines() == ["riskeval: note (FutureWarning): a library talks",
                                  "riskeval: note: riskeval explains over two lines",
                                  "riskeval: error: stopped here"]


def test_closed_pipe_exits_quietly(tmp_path):
    """`riskeval agreement --json | head -c 10`: the reader has gone; no traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "riskeval.cli", "agreement",
                             example_ratings_path(), *ARGS, "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader goes away before anything is written
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    proc.stderr.close()
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert proc.returncode == 141


def test_sigterm_ends_a_run_like_ctrl_c(tmp_path):
    """SIGTERM while the audit is computed: exit 130, one line, no traceback, nothing left."""
    import signal
    import time

    src = _small_ratings(tmp_path)
    script = ("import time, riskeval.audit as a, riskeval.cli as c\n"
              "def slow(*args, **kw):\n"
              "    print('started', flush=True)\n"
              "    time.sleep(60)\n"
              "a.audit = slow\n"
              "import sys; sys.exit(c.main(sys.argv[1:]))\n")
    proc = subprocess.Popen([sys.executable, "-c", script, "audit", str(src), *AUDIT,
                             "--quiet", "-o", str(tmp_path / "out")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip() == "riskeval: interrupted"
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]
