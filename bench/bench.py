"""Benchmark of the offline plan: whole processes, repeated, medians side by side.

    make bench            (REPEAT=N for more runs)

Rows: the import floor (pulumi and the four provider SDKs, nothing else), the
plan of each shipped stack, and the first stack's plan with the catalog scaled ×10
and ×100. Targets: plan ≤ 1.5× the floor; ×100 ≤ 3× ×1.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from infra.stackfiles import environments

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
FLOOR = "import pulumi, pulumi_aws, pulumi_kubernetes, pulumi_vault, pulumi_gcp"
# The provider packages load their modules lazily, so the floor above excludes
# what any program declaring these resources must import. This one imports the
# SDK classes the AWS stack declares, and the libraries the plan needs, but
# none of our code: the plan's own cost is the difference.
USED_FLOOR = (
    "import pulumi.runtime.mocks, yaml, google.protobuf.json_format; from pydantic import BaseModel;"
    " from pulumi_aws import Provider; from pulumi_aws.kms import Key, Alias; from pulumi_aws.secretsmanager import Secret;"
    " from pulumi_aws.iam import Policy, Role, RolePolicyAttachment;"
    " from pulumi_kubernetes import Provider; from pulumi_kubernetes.core.v1 import Namespace;"
    " from pulumi_kubernetes.helm.v3 import Release; from pulumi_kubernetes.apiextensions import CustomResource"
)

STACKS = environments(ROOT)
FIRST = STACKS[0]
CASES = {
    "import floor": [PY, "-c", FLOOR],
    "import floor, modules the program uses": [PY, "-c", USED_FLOOR],
    **{f"plan {stack}": [PY, "-m", "stacktools.plan", "--stack", stack] for stack in STACKS},
    f"plan {FIRST} x1 (scaled script)": [PY, "bench/scaled_plan.py", "--stack", FIRST, "--scale", "1"],
    f"plan {FIRST} x10": [PY, "bench/scaled_plan.py", "--stack", FIRST, "--scale", "10"],
    f"plan {FIRST} x100": [PY, "bench/scaled_plan.py", "--stack", FIRST, "--scale", "100"],
}


def measure(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, timeout=600)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    repeat = int(os.environ.get("REPEAT", "5"))
    subprocess.run(CASES["import floor"], cwd=ROOT, check=True)  # warm the file cache
    medians = {name: measure(argv, repeat) for name, argv in CASES.items()}
    floor = medians["import floor"]
    x1 = medians[f"plan {FIRST} x1 (scaled script)"]
    print(f"median of {repeat} runs each, whole process, {os.cpu_count()} cores\n")
    print("| case | median s | / floor |\n|---|---:|---:|")
    for name, seconds in medians.items():
        print(f"| {name} | {seconds:.2f} | {seconds / floor:.2f}× |")
    worst = max(medians[f"plan {stack}"] for stack in STACKS)
    used = medians["import floor, modules the program uses"]
    scale = medians[f"plan {FIRST} x100"] / x1
    print(f"\nplan / floor:              {worst / floor:.2f}× (target ≤ 1.5×)  {'ok' if worst / floor <= 1.5 else 'MISSED'}")
    print(f"plan / used-modules floor: {worst / used:.2f}× (target ≤ 1.5×)  {'ok' if worst / used <= 1.5 else 'MISSED'}")
    print(f"×100 / ×1:                 {scale:.2f}× (target ≤ 3×)    {'ok' if scale <= 3 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
