#!/usr/bin/env python3
"""Where one sequential request's time goes, from the system calls of a running client.

A client that sends one request at a time runs a cycle: it writes the request, waits for the
answer, reads it, and runs its own code (and its caller's) until it writes the next. Timings
(req/s) only give the cycle's length; this splits it into phases, from kernel tracepoints on the
client's busiest thread (``perf record -e syscalls:…``, about a microsecond of overhead per
system call, so absolute numbers run a little high; compare clients traced the same way):

* **send**: the ``write``/``writev``/``sendto`` of the request (on loopback it also runs the
  server's receive path and wakes the server);
* **after send**: from the end of the send until the thread goes to sleep in ``epoll_wait``
  (work that overlaps the server's);
* **sleep**: until ``epoll_wait`` returns, i.e. the server's answer plus the wake-ups;
* **wake to read**: from the wake-up until the answer is read (``read``/``recvfrom``): the
  event loop's dispatch;
* **read to next send**: from the answer read to the next request written: parsing, the
  caller's code, building and encoding the next request. Together with *wake to read*, the
  client's own critical path.

Every cycle also gives **send to read** (the whole wait for the answer, however it was spent).
A cycle with no blocking ``epoll_wait`` (the answer arrived before the thread slept, or the
client blocks in ``read`` itself, as ``raw/floor.rs`` does) has no *after send*, *sleep* or
*wake to read*: it counts as *not slept*.

Run (``perf`` from Debian's ``linux-perf``; root or ``perf_event_paranoid`` ≤ 1)::

    python3 bench/phases.py --label undici -- node /tmp/undici-loop.mjs

The command must keep one request in flight for at least ``--warm`` + ``--seconds`` seconds;
its output is shown. No dependency beyond the standard library.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

SENDS = ("writev", "write", "sendto")
READS = ("recvfrom", "read")
EVENTS = ",".join(
    [f"syscalls:sys_enter_{s}" for s in SENDS]
    + [f"syscalls:sys_exit_{s}" for s in SENDS]
    + [f"syscalls:sys_exit_{r}" for r in READS]
    + ["syscalls:sys_enter_epoll_pwait", "syscalls:sys_exit_epoll_pwait"]
    + ["syscalls:sys_enter_epoll_wait", "syscalls:sys_exit_epoll_wait"]
)
LINE = re.compile(r"\s*(\d+)\s+([\d.]+):\s+syscalls:(\S+):\s*(.*)")
KEYS = ("send", "send to read", "after send", "sleep", "wake to read", "read to next send")
# An answer or a request is larger than this; eventfd writes (8 bytes) and short reads are not.
MIN_BYTES = 100


def parse(script: str) -> list[tuple[float, str, str]]:
    """(time, event, arguments) of the busiest thread's events, in order."""
    rows = [(int(m[1]), float(m[2]), m[3], m[4]) for m in map(LINE.match, script.splitlines()) if m]
    if not rows:
        return []
    main = Counter(r[0] for r in rows).most_common(1)[0][0]
    return [(t, e, rest) for tid, t, e, rest in rows if tid == main]


def size(event: str, rest: str) -> int:
    """Bytes of a send (its length argument) or a read (its return value)."""
    if event.startswith("sys_exit_"):
        m = re.search(r"0x([0-9a-f]+)", rest)
        return int(m[1], 16) if m else 0
    if event == "sys_enter_writev":
        return MIN_BYTES + 1  # its length is in its vectors; the only writev is a request
    m = re.search(r"(?:count|len): 0x([0-9a-f]+)", rest)
    return int(m[1], 16) if m else 0


def phases(events: list[tuple[float, str, str]]) -> tuple[dict[str, list[float]], int]:
    """Each phase's durations (seconds), one per complete cycle, and how many complete cycles
    had no blocking wait."""
    out: dict[str, list[float]] = {k: [] for k in KEYS}
    not_slept = 0
    cycle: dict[str, float] | None = None
    for t, e, rest in events:
        name = e.split("_", 2)[2]
        if e.startswith("sys_enter_") and name in SENDS and size(e, rest) > MIN_BYTES:
            if cycle is not None and "read" in cycle:
                out["read to next send"].append(t - cycle["read"])
                if "sent" in cycle:
                    out["send"].append(cycle["sent"] - cycle["send"])
                    out["send to read"].append(cycle["read"] - cycle["sent"])
                if {"sent", "sleep", "woke"} <= cycle.keys():
                    out["after send"].append(cycle["sleep"] - cycle["sent"])
                    out["sleep"].append(cycle["woke"] - cycle["sleep"])
                    out["wake to read"].append(cycle["read"] - cycle["woke"])
                else:
                    not_slept += 1
            cycle = {"send": t}
        elif cycle is None or "read" in cycle:
            continue
        elif e.startswith("sys_exit_") and name in SENDS and "sent" not in cycle:
            cycle["sent"] = t
        elif e == "sys_enter_epoll_pwait" or e == "sys_enter_epoll_wait":
            # Only a wait that may block: a zero timeout is a look, not a sleep.
            if "timeout: 0x00000000" not in rest and "sent" in cycle and "sleep" not in cycle:
                cycle["sleep"] = t
        elif (e == "sys_exit_epoll_pwait" or e == "sys_exit_epoll_wait") and "sleep" in cycle and "woke" not in cycle:
            cycle["woke"] = t
        elif e.startswith("sys_exit_") and name in READS and size(e, rest) > MIN_BYTES:
            cycle["read"] = t
    return out, not_slept


def report(label: str, out: dict[str, list[float]], not_slept: int) -> str:
    parts = [f"{label}: {len(out['sleep'])} cycles slept, {not_slept} not; medians µs:"]
    for k in KEYS:
        v = out[k]
        parts.append(f"{k} {statistics.median(v) * 1e6:.0f}" if v else f"{k} -")
    return " ".join(parts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--label", default="client")
    ap.add_argument("--warm", type=float, default=1.5, help="seconds before tracing starts")
    ap.add_argument("--seconds", type=float, default=2.0, help="seconds traced")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        ap.error("give the client's command after --")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "perf.data"
        proc = subprocess.Popen(command)
        time.sleep(args.warm)
        rec = subprocess.run(
            ["perf", "record", "-q", "-e", EVENTS, "-p", str(proc.pid), "-o", str(data), "--", "sleep", str(args.seconds)],
            capture_output=True,
            text=True,
        )
        proc.wait()
        if not data.exists():
            print(f"perf record failed: {rec.stderr.strip()}", file=sys.stderr)
            return 1
        script = subprocess.run(
            ["perf", "script", "-i", str(data), "-F", "tid,time,event,trace"], capture_output=True, text=True
        ).stdout
    print(report(args.label, *phases(parse(script))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
