"""Synth benchmark: wall time per environment against an empty app with the same plugins.

In-process: each measurement builds a fresh ``App`` in this (warm) process and synthesizes it
to a temporary directory, asset bundling skipped (as in tests). Cold process: a fresh
``python app.py``, as ``cdk synth`` runs it (interpreter, jsii runtime and all). Times are
medians of ``--repeat`` runs. The floor, an empty app with the same compliance plugins, is
measured in the same run, so the ratios compare across machines. Prints a Markdown table.

    python bench/synth.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aws_cdk import App  # noqa: E402

from app import build_app, cdk_json_context  # noqa: E402
from compliance.assembly import synthesized_stacks  # noqa: E402
from compliance.gate import add_compliance_gate  # noqa: E402

CONTEXT = cdk_json_context()


def _timed(build: Callable[[App], object], context: dict[str, object], repeat: int) -> tuple[float, Path]:
    samples = []
    outdir = Path(tempfile.mkdtemp(prefix="bench-synth-"))
    for _ in range(repeat):
        app = App(outdir=str(outdir), context=context)
        start = time.perf_counter()
        build(app)
        app.synth()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), outdir


_EMPTY_APP = (
    "from aws_cdk import App; from compliance.gate import add_compliance_gate; "
    "app = App(); add_compliance_gate(app); app.synth()"
)


def _cold(argv: list[str], context: dict[str, object], repeat: int) -> float:
    """Median wall time of a fresh ``python`` process, as ``cdk synth`` starts one."""
    samples = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as outdir:
            env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": outdir}
            start = time.perf_counter()
            subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, check=True, capture_output=True)
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _resource_counts(outdir: Path) -> dict[str, int]:
    return {f"{stack.stage}/{stack.name}": len(stack.template()["Resources"]) for stack in synthesized_stacks(outdir)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    _timed(build_app, CONTEXT, 1)  # warm the jsii runtime and every module the app imports
    floor, _ = _timed(lambda app: add_compliance_gate(app), CONTEXT, args.repeat)
    cold_floor = _cold(["-c", _EMPTY_APP], CONTEXT, args.repeat)
    rows = [("empty app + gate (floor)", floor, cold_floor, 0, "")]
    environments = list(CONTEXT["llmops"]["environments"])
    stack_counts: dict[str, int] = {}
    for env in environments:
        seconds, outdir = _timed(build_app, {**CONTEXT, "env": env}, args.repeat)
        ungated, _ = _timed(build_app, {**CONTEXT, "env": env, "gate": "false"}, args.repeat)
        cold = _cold(["app.py"], {**CONTEXT, "env": env}, args.repeat)
        counts = _resource_counts(outdir)
        stack_counts.update(counts)
        rows.append((f"{env} (gate)", seconds, cold, sum(counts.values()), f"{seconds / ungated:.2f}x of ungated"))
    seconds, _ = _timed(build_app, CONTEXT, args.repeat)
    cold = _cold(["app.py"], CONTEXT, args.repeat)
    rows.append(("all environments (gate)", seconds, cold, sum(stack_counts.values()), ""))

    print(f"median of {args.repeat} runs, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    print("| app | in-process synth (s) | ratio to floor | cold process (s) | ratio to floor | resources | gate cost |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, seconds, cold, resources, note in rows:
        print(
            f"| {name} | {seconds:.3f} | {seconds / floor:.0f}x | {cold:.2f} | {cold / cold_floor:.2f}x "
            f"| {resources} | {note} |"
        )
    print("\n| stack | resources |\n|---|---:|")
    for name, count in stack_counts.items():
        print(f"| {name} | {count} |")


if __name__ == "__main__":
    main()
