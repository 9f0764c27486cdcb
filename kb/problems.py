"""A problem found in a fiche: where it is, how serious, and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field

from kb.messages import render

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    severity: str
    message: str
    # the front-matter key path the problem is about ("territoire.departements", "liens.url"),
    # "section:<titre>" for a section, "" for the whole file; and the message as the contribution
    # form shows it (labels, no YAML key, no line). Neither takes part in equality or order.
    field: str = dataclass_field(default="", compare=False)
    form_message: str = dataclass_field(default="", compare=False)

    def format(self) -> str:
        """``path:line: error|warning: message``, the form editors' tools understand."""
        return f"{self.path}:{self.line}: {self.severity}: {self.message}"

    def to_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "severity": self.severity, "message": self.message}


def problem(path: str, line: int, severity: str, code: str, where: tuple | str = (), /, **values) -> Problem:
    """The problem ``code`` of :mod:`kb.messages` about ``where`` (a key path or "section:…")."""
    message, form_message, field = render(code, where, **values)
    return Problem(path, line, severity, message, field, form_message)


class Reporter:
    """The problems of one file, in the order they are found."""

    def __init__(self, path: str):
        self.path = path
        self.problems: list[Problem] = []

    def error(self, line: int, code: str, where: tuple | str = (), /, **values) -> None:
        self.problems.append(problem(self.path, line, ERROR, code, where, **values))

    def warning(self, line: int, code: str, where: tuple | str = (), /, **values) -> None:
        self.problems.append(problem(self.path, line, WARNING, code, where, **values))

    @property
    def has_errors(self) -> bool:
        return any(p.severity == ERROR for p in self.problems)

