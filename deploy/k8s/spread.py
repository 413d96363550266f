#!/usr/bin/env python3
"""The schedule of one workspace's CronJob: every N minutes, at a minute
offset taken from the workspace's name, so a hundred per-team CronJobs do not
all call Jira at the same minute.  The offset is stable (a CRC-32 of the name):
the same name always gets the same minutes, on any machine.

    python3 deploy/k8s/spread.py growth          # → 1-59/15 * * * *
    python3 deploy/k8s/spread.py growth --every 30

Put the result in the workspace's kustomization (overlays/example/*/).
"""
from __future__ import annotations

import argparse
import zlib


def schedule(workspace: str, every: int = 15) -> str:
    if not 1 <= every <= 60 or 60 % every:
        raise ValueError(f"--every {every}: expected minutes that divide an hour (5, 10, 15, 20, 30, 60)")
    offset = zlib.crc32(workspace.encode("utf-8")) % every
    if every == 60:
        return f"{offset} * * * *"
    return f"{offset}-59/{every} * * * *"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace")
    parser.add_argument("--every", type=int, default=15, help="minutes between syncs (default 15)")
    args = parser.parse_args()
    print(schedule(args.workspace, args.every))
