"""A problem found in a fiche: where it is, how serious, and what to do about it."""

from __future__ import annotations

from dataclasses import asdict, dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    severity: str
    message: str

    def format(self) -> str:
        """``path:line: error|warning: message``, the form editors' tools understand."""
        return f"{self.path}:{self.line}: {self.severity}: {self.message}"

    def to_dict(self) -> dict:
        return asdict(self)


def has_errors(problems) -> bool:
    return any(p.severity == ERROR for p in problems)
