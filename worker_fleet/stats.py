"""CPU and memory of this worker and its shards, for the heartbeat (Linux /proc)."""

from __future__ import annotations

import os
import time
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def _proc_rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


class ProcessStats:
    """CPU percent since the previous sample, and resident memory, over a set of processes."""

    def __init__(self) -> None:
        self._last_wall = time.monotonic()
        self._last_cpu: float | None = None

    def sample(self, pids: list[int]) -> dict[str, float]:
        cpu = sum(_proc_cpu_seconds(pid) for pid in pids)
        now = time.monotonic()
        percent = 0.0
        if self._last_cpu is not None and now > self._last_wall:
            percent = max(0.0, (cpu - self._last_cpu) / (now - self._last_wall) * 100)
        self._last_cpu, self._last_wall = cpu, now
        return {"cpu_percent": round(percent, 1), "rss_bytes": sum(_proc_rss_bytes(pid) for pid in pids)}
