"""Run every benchmark and print a summary of speed ratios against their targets.

Each ``bench_*.py`` runs in its own Python process (so that ``bench_bootstrap.py`` can pin
itself to one thread before numpy is imported); its output is shown as it runs and its last
``BENCH_JSON`` line feeds the summary table.

This is not a test: a missed speed target is printed as "NOT met", never raised. The exit
status is non-zero only when a script failed to run or its results disagreed with the peer
package.

Run: ``.venv-bench/bin/python benchmarks/run_all.py`` (or ``make bench``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _bench import JSON_PREFIX

HERE = Path(__file__).resolve().parent
SCRIPTS = ("bench_icc.py", "bench_alpha.py", "bench_bootstrap.py", "bench_simulate.py",
           "bench_lmm.py", "bench_design.py", "bench_facets.py", "bench_lmm_slopes.py",
           "bench_ordinal_slopes.py", "bench_calibrate.py")


def run(script: str) -> tuple[int, dict[str, Any] | None, float]:
    """Run one script, echoing its output; return its exit code, parsed payload and seconds."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(HERE / script)], cwd=HERE.parent,
                            stdout=subprocess.PIPE, text=True, bufsize=1)
    payload = None
    for line in proc.stdout or ():
        if line.startswith(JSON_PREFIX):
            payload = json.loads(line[len(JSON_PREFIX):])
        else:
            print(line, end="", flush=True)
    code = proc.wait()
    return code, payload, time.perf_counter() - start


def fmt_value(row: dict[str, Any]) -> str:
    if "unit" in row:
        return f"{row['value']:,.2f} {row['unit']}"
    return f"{row['value']:.4f} s" if row["target"].endswith(" s") else f"{row['value']:,.2f}x"


def main() -> int:
    results = []
    for script in SCRIPTS:
        code, payload, seconds = run(script)
        print(f"   ({script} finished in {seconds:.1f} s, exit code {code})\n", flush=True)
        results.append((script, code, payload))

    print("== Summary (ratio = peer time / riskeval time; higher is better for riskeval;\n"
          "   simulate has no peer package: its targets are absolute)")
    head = f"{'benchmark':<11} {'measure':<30} {'value':>12} {'target':>9}  {'status':<8} agree"
    print(head)
    print("-" * len(head))
    failed = False
    for script, code, payload in results:
        if payload is None:
            failed = True
            print(f"{script:<11} script failed (exit code {code}); see its output above")
            continue
        agree = "yes" if payload["agree"] else "NO"
        failed = failed or not payload["agree"] or code != 0
        for row in payload["targets"]:
            status = "met" if row["met"] else "NOT met"
            print(f"{payload['name']:<11} {row['what']:<30} {fmt_value(row):>12} "
                  f"{row['target']:>9}  {status:<8} {agree}")
    if any(p and p.get("peer_scaled") for _, _, p in results):
        print("(bootstrap peer time scaled up x10 from 200 calls)")
    n_met = sum(row["met"] for _, _, p in results if p for row in p["targets"])
    n_all = sum(len(p["targets"]) for _, _, p in results if p)
    print(f"{n_met} of {n_all} speed targets met (speed is reported, never asserted)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
