"""What Linux's /proc says of a process: its CPU time and its resident memory."""

from __future__ import annotations

from pathlib import Path

TICKS_PER_S = 100  # /proc/<pid>/stat counts CPU time in clock ticks of 1/100 s on Linux


def stat_fields(stat: str) -> list[str]:
    """The fields of a /proc/<pid>/stat line after the command name, which may hold spaces
    and parentheses: field 0 is the state, 1 the parent, 11 and 12 utime and stime."""
    return stat.rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    return stat_cpu_seconds(stat_fields(Path(f"/proc/{pid}/stat").read_text()))


def stat_cpu_seconds(fields: list[str]) -> float:
    """The CPU time (user + system) of a process, from its :func:`stat_fields`."""
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")
