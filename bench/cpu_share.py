"""Where the machine's CPU goes while a benchmark's gunicorn runs: a share per kind of process.

    .venv/bin/python bench/cpu_share.py &   # then, beside it:
    .venv/bin/python bench/city_bench.py --database postgresql+psycopg://...

It waits for a `gunicorn -c ... gunicorn.conf.py` to start, reads every process's CPU time
(/proc/PID/stat) a few seconds later and again every second until gunicorn has gone, then
prints each kind's share of all the machine's CPU time between the first and the last reading
in which gunicorn still ran: gunicorn (its workers), PostgreSQL (backends and its own
processes), the benchmark's process (its client threads), Redis, other. A process counts
until the latest reading that saw it. Time spent by processes that started and ended between
two readings, and the kernel's own (softirq, the loopback's traffic), is "not in a process
seen"; time the hypervisor gave to other machines (steal) is shown apart. Linux only.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter

TICKS = os.sysconf("SC_CLK_TCK")


def kind(command: str) -> str:
    if "gunicorn" in command and "gunicorn.conf.py" in command:
        return "gunicorn"
    if command.startswith("postgres") or "/postgresql/" in command:
        return "PostgreSQL"
    if "bench/" in command:
        return "benchmark (client)"
    if "redis" in command:
        return "Redis"
    return "other"


def processes() -> dict[int, tuple[str, int]]:
    """pid -> (kind, user + system ticks so far)."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
            with open(f"/proc/{name}/cmdline") as f:
                command = f.read().replace("\0", " ").strip()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        found[int(name)] = (kind(command), int(fields[11]) + int(fields[12]))
    return found


def serving(found: dict[int, tuple[str, int]]) -> bool:
    """Whether a gunicorn is among the processes read."""
    return any(what == "gunicorn" for what, _ in found.values())


def machine() -> list[int]:
    """/proc/stat's cpu line: user nice system idle iowait irq softirq steal."""
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:9]]


def by_kind(first: dict[int, tuple[str, int]], latest: dict[int, tuple[str, int]]) -> Counter[str]:
    """Ticks spent per kind between the first reading and each process's latest one.

    A process that ended before the last reading keeps what it spent until its latest: the
    workers of a stopping gunicorn go before its master, and counting only the processes of
    the last reading put their whole run under "not in a process" (20-30 % of the machine).
    """
    shares: Counter[str] = Counter()
    for pid, (what, ticks) in latest.items():
        shares[what] += ticks - first.get(pid, (what, 0))[1]
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--every", type=float, default=1, help="seconds between readings")
    every = parser.parse_args().every
    while not serving(processes()):
        time.sleep(1)
    time.sleep(5)  # past the workers' start
    first, first_cpu = processes(), machine()
    latest, last_cpu = dict(first), first_cpu
    while True:
        time.sleep(every)
        now, now_cpu = processes(), machine()
        if not serving(now):
            break
        latest.update(now)
        last_cpu = now_cpu
    spent = [b - a for a, b in zip(first_cpu, last_cpu, strict=True)]
    total = sum(spent)
    shares = by_kind(first, latest)
    busy = total - spent[3] - spent[4] - spent[7]  # (steal: another machine's, not ours)
    shares["not in a process seen"] = busy - sum(shares.values())
    print(f"CPU over {total / TICKS / os.cpu_count():.0f} s of {os.cpu_count()} cores:")
    for what, ticks in shares.most_common():
        print(f"  {what:32} {ticks / total:6.1%}")
    print(f"  {'idle (and waiting for the disk)':32} {(spent[3] + spent[4]) / total:6.1%}")
    print(f"  (the kernel's softirq {spent[6] / total:.1%}, steal {spent[7] / total:.1%})")


if __name__ == "__main__":
    main()
