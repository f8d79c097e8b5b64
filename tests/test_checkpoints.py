"""Checkpoints of ``design.diagnose``: interrupted runs resume to the uninterrupted table, bit
for bit; a line cut short by a kill is dropped and its simulation run again; a checkpoint
belongs to one design (its fingerprint) and seed; bad arguments leave the file system alone."""

from __future__ import annotations

import csv
import math
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskeval import RiskevalError
from riskeval import studies as dz


def _mean_design(scale: float = 1.0, n: int = 15) -> dz.Design:
    """A cheap design whose estimates are long floats; the default name, no params."""

    def population(seed: np.random.SeedSequence) -> tuple[np.ndarray, dict[str, float]]:
        rng = np.random.default_rng(seed)
        return 0.3 + scale * rng.standard_normal(n), {"mean": 0.3, "sd": scale}

    def mean(x: np.ndarray) -> dict[str, float]:
        m, se = x.mean() / 3 * 3, x.std(ddof=1) / math.sqrt(len(x))
        return {"estimate": m, "ci_low": m - 1.96 * se, "ci_high": m + 1.96 * se,
                "p": math.erfc(abs(m / se) / math.sqrt(2))}

    return dz.Design(population, (dz.Estimator("mean, with a comma", "mean", mean),
                                  dz.Estimator("sd", "sd", lambda x: float(x.std(ddof=1)))))


def _same(a: dz.Diagnosis, b: dz.Diagnosis) -> None:
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
    pd.testing.assert_frame_equal(a.simulations, b.simulations, check_exact=True)


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".meta.json")


def _copy_checkpoint(src: Path, dst: Path, content: bytes) -> None:
    dst.write_bytes(content)
    shutil.copyfile(_sidecar(src), _sidecar(dst))


def test_a_line_cut_short_by_a_kill_is_dropped_and_its_simulation_run_again(tmp_path):
    d = _mean_design()
    full_ck = tmp_path / "full.csv"
    full = dz.diagnose(d, n_sims=12, seed=4, checkpoint=full_ck, chunk_size=5)
    _same(full, dz.diagnose(d, n_sims=12, seed=4))
    whole = full_ck.read_bytes()
    assert whole.endswith(b"\n")
    last = whole.rstrip(b"\n").rfind(b"\n") + 1        # start of the last line
    before_last = whole[:last - 1].rfind(b"\n") + 1
    cuts = list(range(last, len(whole))) + list(range(before_last, last, 7))
    for cut in cuts:                                   # a kill at every byte of the last line
        ck = tmp_path / f"cut{cut}.csv"
        _copy_checkpoint(full_ck, ck, whole[:cut])
        resumed = dz.diagnose(d, n_sims=12, seed=4, checkpoint=ck, chunk_size=5)
        _same(full, resumed)
        # the partial line is gone for good: the file is the uninterrupted run's, byte for byte
        assert ck.read_bytes() == whole, cut


def test_an_interrupted_and_resumed_run_gives_the_same_table_bit_for_bit(tmp_path):
    d = _mean_design()
    ck = tmp_path / "ck.csv"
    full = dz.diagnose(d, n_sims=150, seed=9, checkpoint=ck, chunk_size=20)
    lines = ck.read_bytes().splitlines(keepends=True)
    ck.write_bytes(b"".join(lines[:1 + 2 * 70]))      # the header and 70 whole simulations
    resumed = dz.diagnose(d, n_sims=150, seed=9, checkpoint=ck, chunk_size=20)
    _same(full, resumed)
    _same(full, dz.diagnose(d, n_sims=150, seed=9, checkpoint=ck))   # all read back
    # the file is a CSV whose numbers read back exactly (repr of each float)
    with ck.open(newline="") as f:
        back = sorted(csv.DictReader(f), key=lambda r: int(r["sim"]))
    for col in ("truth", "estimate", "ci_low", "ci_high", "p"):
        np.testing.assert_array_equal([float(r[col]) for r in back],
                                      full.simulations[col].to_numpy())


def test_two_designs_differing_only_inside_the_population_closure_do_not_share(tmp_path):
    ck = tmp_path / "ck.csv"
    dz.diagnose(_mean_design(scale=1.0), n_sims=6, seed=1, checkpoint=ck)
    with pytest.raises(RiskevalError, match="another design") as err:
        dz.diagnose(_mean_design(scale=2.0), n_sims=8, seed=1, checkpoint=ck)
    assert str(ck) in str(err.value)
    # the same design declared again (new function objects) resumes
    again = dz.diagnose(_mean_design(scale=1.0), n_sims=8, seed=1, checkpoint=ck)
    _same(again, dz.diagnose(_mean_design(scale=1.0), n_sims=8, seed=1))
    # an estimator's setting that is not in design.params (the intervals' confidence)
    ck2 = tmp_path / "rater.csv"
    dz.diagnose(dz.rater_study(4, 5, confidence=0.95), n_sims=3, seed=1, checkpoint=ck2)
    with pytest.raises(RiskevalError, match="another design"):
        dz.diagnose(dz.rater_study(4, 5, confidence=0.9), n_sims=3, seed=1, checkpoint=ck2)


_SEEN: list[int] = []          # a counter an estimator appends to: not part of the design


def _counted_mean(x: np.ndarray) -> float:
    _SEEN.append(1)
    return float(x.mean())


def test_what_the_fingerprint_sees_and_what_it_does_not(tmp_path):
    base = _mean_design()
    ck = tmp_path / "ck.csv"
    counted = dz.Design(base.population, (dz.Estimator("mean", "mean", _counted_mean),))
    first = dz.diagnose(counted, n_sims=5, seed=1, checkpoint=ck)
    assert _SEEN                                     # the counter has grown: still resumes
    _same(first, dz.diagnose(counted, n_sims=5, seed=1, checkpoint=ck))
    # a population wrapped in another function that simulates the same data: the same design
    calls = []

    def wrapped(seed):
        calls.append(seed)
        return base.population(seed)

    more = dz.diagnose(dz.Design(wrapped, counted.estimators), n_sims=8, seed=1,
                       checkpoint=ck)
    _same(more, dz.diagnose(counted, n_sims=8, seed=1))
    assert len(calls) == 1 + 3                       # the probe, and simulations 5-7
    # an estimator whose code changed (another ddof) is another design
    ck2 = tmp_path / "sd.csv"
    dz.diagnose(dz.Design(base.population, (dz.Estimator("sd", "sd", lambda x: x.std()),)),
                n_sims=3, seed=1, checkpoint=ck2)
    with pytest.raises(RiskevalError, match="another design"):
        dz.diagnose(dz.Design(base.population,
                              (dz.Estimator("sd", "sd", lambda x: x.std(ddof=1)),)),
                    n_sims=3, seed=1, checkpoint=ck2)


def test_bad_arguments_leave_no_file_behind(tmp_path):
    d = _mean_design()
    ck = tmp_path / "runs" / "ck.csv"
    with pytest.raises(RiskevalError, match="backend='spark'"):
        dz.diagnose(d, n_sims=3, seed=1, backend="spark", checkpoint=ck)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(TypeError, match="checkpoint"):
        dz.diagnose(d, n_sims=3, seed=1, checkpoint=3)
    assert list(tmp_path.iterdir()) == []
    pytest.importorskip("distributed")
    with pytest.raises(RiskevalError, match="needs a Dask client"):     # none is running
        dz.diagnose(d, n_sims=3, seed=1, backend="dask", checkpoint=ck)
    assert list(tmp_path.iterdir()) == []


_CHILD_DESIGN = '''
import math
import time

import numpy as np

from riskeval import studies as dz


def make(pause=0.0):
    def population(seed):
        rng = np.random.default_rng(seed)
        return rng.standard_normal(12) / 3, {"mean": 0.0}

    def mean(x):
        if pause:
            time.sleep(pause)
        m, se = x.mean(), x.std(ddof=1) / math.sqrt(len(x))
        return {"estimate": m, "ci_low": m - 1.96 * se, "ci_high": m + 1.96 * se}

    return dz.Design(population, (dz.Estimator("mean", "mean", mean),
                                  dz.Estimator("median", "mean", lambda x: np.median(x))))
'''


def _child_module(tmp_path: Path):
    import importlib.util

    (tmp_path / "ckdesign.py").write_text(_CHILD_DESIGN)
    spec = importlib.util.spec_from_file_location("ckdesign", tmp_path / "ckdesign.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")
def test_a_process_killed_in_the_middle_of_an_append_resumes_exactly(tmp_path):
    """A real SIGKILL while the third chunk is half written (the child writes half of it and
    kills itself), then a resume in this process."""
    mod = _child_module(tmp_path)
    ck = tmp_path / "ck.csv"
    script = textwrap.dedent(f'''
        import os, signal, sys
        sys.path.insert(0, {str(tmp_path)!r})
        import ckdesign
        from riskeval import studies as dz

        target, real, calls = os.path.realpath({str(ck)!r}), os.write, []

        def write(fd, data):
            if os.path.realpath(f"/proc/self/fd/{{fd}}") == target:
                calls.append(len(data))
                if len(calls) == 3:
                    cut = bytes(data).index(b"\\n", len(data) // 2) + 4   # mid-line
                    real(fd, bytes(data)[:cut])
                    os.kill(os.getpid(), signal.SIGKILL)
            return real(fd, data)

        os.write = write
        dz.diagnose(ckdesign.make(), n_sims=40, seed=3, checkpoint={str(ck)!r}, chunk_size=5)
    ''')
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == -signal.SIGKILL, run.stderr
    cut = ck.read_bytes()
    assert not cut.endswith(b"\n")                    # a partial last line
    resumed = dz.diagnose(mod.make(), n_sims=40, seed=3, checkpoint=ck, chunk_size=5)
    full_ck = tmp_path / "full.csv"
    full = dz.diagnose(mod.make(), n_sims=40, seed=3, checkpoint=full_ck, chunk_size=5)
    _same(full, resumed)
    assert ck.read_bytes() == full_ck.read_bytes()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_process_killed_at_any_moment_resumes_exactly(tmp_path):
    """SIGKILL from outside, at whatever moment the child has reached."""
    mod = _child_module(tmp_path)
    ck = tmp_path / "ck.csv"
    script = textwrap.dedent(f'''
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import ckdesign
        from riskeval import studies as dz

        dz.diagnose(ckdesign.make(0.01), n_sims=300, seed=5, checkpoint={str(ck)!r},
                    chunk_size=3)
    ''')
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while (not ck.exists() or ck.stat().st_size < 3000) and time.monotonic() < deadline:
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    resumed = dz.diagnose(mod.make(0.01), n_sims=300, seed=5, checkpoint=ck, chunk_size=3)
    full = dz.diagnose(mod.make(), n_sims=300, seed=5)
    _same(full, resumed)


def test_a_damaged_line_before_the_end_is_dropped_with_a_warning(tmp_path):
    from riskeval.errors import RiskevalWarning

    d = _mean_design()
    ck = tmp_path / "ck.csv"
    full = dz.diagnose(d, n_sims=10, seed=2, checkpoint=ck, chunk_size=4)
    lines = ck.read_bytes().splitlines(keepends=True)
    damaged = bytearray(lines[7])                     # sim 3, a digit changed
    k = damaged.index(b".") + 2
    damaged[k] = ord("7") if damaged[k] != ord("7") else ord("3")
    ck.write_bytes(b"".join([*lines[:7], bytes(damaged), *lines[8:]]))
    with pytest.warns(RiskevalWarning,
                      match=r"2 line\(s\) before its end dropped \(1 damaged.*\(s\) 3 run"):
        resumed = dz.diagnose(d, n_sims=10, seed=2, checkpoint=ck, chunk_size=4)
    _same(full, resumed)
    back = pd.read_csv(ck)
    assert len(back) == 20 and not back.duplicated(["sim", "estimator"]).any()


def test_a_header_cut_short_and_an_old_checkpoint(tmp_path):
    d = _mean_design()
    ck = tmp_path / "ck.csv"
    dz.diagnose(d, n_sims=3, seed=2, checkpoint=ck)
    ck.write_bytes(b"sim,estim")                      # killed while writing the header
    _same(dz.diagnose(d, n_sims=3, seed=2), dz.diagnose(d, n_sims=3, seed=2, checkpoint=ck))
    # a checkpoint of the earlier format (no fingerprint, no line checks) is not resumed
    _sidecar(ck).write_text('{"design": "design", "params": {}, "estimators": ["sd"], '
                            '"seed": ["2", []]}')
    with pytest.raises(RiskevalError, match="earlier version of riskeval") as err:
        dz.diagnose(d, n_sims=3, seed=2, checkpoint=ck)
    assert str(ck) in str(err.value)


def test_the_presets_fingerprints_are_the_same_in_another_process():
    """No false refusals: a preset declared again, in a new process with another string hash
    seed, has the same fingerprint (so a checkpoint resumes)."""
    import os

    code = textwrap.dedent('''
        from riskeval import studies as dz
        print(dz.diagnosis._fingerprint(dz.rater_study(4, 5, categories=[-0.5, 0.5])),
              dz.diagnosis._fingerprint(dz.training_study(2, 3, 6)),
              dz.diagnosis._fingerprint(dz.skills_trial(n_officers=6, supervisees_per_officer=5)),
              dz.diagnosis._fingerprint(dz.world_study(2, 3, 6)))
    ''')
    here = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONHASHSEED": "1"}, check=True).stdout.split()
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "PYTHONHASHSEED": "2"}, check=True).stdout.split()
    assert here == there and len(set(here)) == 4
    assert here[0] == dz.diagnosis._fingerprint(dz.rater_study(4, 5, categories=[-0.5, 0.5]))
    assert here[0] != dz.diagnosis._fingerprint(dz.rater_study(4, 5, categories=[-0.5, 0.6]))


def test_a_shorter_run_keeps_the_longer_runs_simulations_in_the_file(tmp_path):
    d = _mean_design()
    ck = tmp_path / "ck.csv"
    dz.diagnose(d, n_sims=12, seed=6, checkpoint=ck, chunk_size=5)
    short = dz.diagnose(d, n_sims=6, seed=6, checkpoint=ck)
    _same(short, dz.diagnose(d, n_sims=6, seed=6))
    assert pd.read_csv(ck)["sim"].nunique() == 12
    calls = []

    def counted(seed):
        calls.append(seed)
        return d.population(seed)

    long = dz.diagnose(dz.Design(counted, d.estimators), n_sims=12, seed=6, checkpoint=ck)
    _same(long, dz.diagnose(d, n_sims=12, seed=6))
    assert len(calls) == 1                            # the probe only: nothing run again
