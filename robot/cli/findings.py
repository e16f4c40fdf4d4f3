"""What ``robot doctor`` finds: one line per check, with its status."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    status: str  # "ok", "warn" (works, but needs a change), "FAIL" or "skip"
    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.status:<4} {self.check}: {self.detail}"


def ok(check: str, detail: str) -> Finding:
    return Finding("ok", check, detail)


def warn(check: str, detail: str) -> Finding:
    return Finding("warn", check, detail)


def fail(check: str, detail: str) -> Finding:
    return Finding("FAIL", check, detail)


def skip(check: str, detail: str) -> Finding:
    return Finding("skip", check, detail)
