"""Hardened loading of a front matter: the YAML mapping and the file line of every key.

Only plain values are built (text, numbers, dates, lists, mappings): anchors, aliases, tags
other than ``!!str`` and deep nesting are refused before anything is constructed. libyaml
loads the front matters that parse; a failure starts again in pure Python, whose errors carry
the precise messages reported to editors.
"""

from __future__ import annotations

import re

import yaml
from yaml.reader import ReaderError

from kb.problems import Reporter

MAX_YAML_DEPTH = 20
UNICODE_LINE_BREAK_RE = re.compile("[\x85\u2028\u2029]")
# YAML tags a fiche may use: !!str (forces text); any other tag is refused before construction
SAFE_TAGS = {("!!", "str"), (None, "tag:yaml.org,2002:str")}
NESTING_START = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken, yaml.FlowMappingStartToken,
                 yaml.FlowSequenceStartToken)
NESTING_END = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)
_SURROGATE_RE = re.compile("[\ud800-\udfff]")

Lines = dict[tuple, int]


class FrontMatterError(Exception):
    """A construction refused: the node's position and the message code."""

    def __init__(self, mark, code: str):
        super().__init__(code)
        self.mark = mark
        self.code = code


class _FrontMatterConstructor(yaml.constructor.SafeConstructor):
    """Safe construction for a front matter: keys stay the text the editor wrote (``yes:`` is
    the key "yes", not True; ``<<:`` is not a merge), and a scalar that looks like a date or a
    number but is not one (2022-02-30, a 5000-digit number) stays text for the validator."""

    def construct_mapping(self, node, deep=False):
        if not isinstance(node, yaml.MappingNode):
            raise FrontMatterError(node.start_mark, "yaml_not_mapping")
        mapping = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise FrontMatterError(key_node.start_mark, "yaml_key_not_scalar")
            mapping[_no_surrogates(key_node, key_node.value)] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_str(self, node):
        return _no_surrogates(node, super().construct_yaml_str(node))

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            return node.value

    def construct_yaml_int(self, node):
        try:
            return super().construct_yaml_int(node)
        except (ValueError, OverflowError):
            return node.value


def _no_surrogates(node, text: str) -> str:
    """A "\\ud800" escape gives a string that no UTF-8 file or database can hold."""
    if _SURROGATE_RE.search(text):
        raise FrontMatterError(node.start_mark, "yaml_surrogate")
    return text


_FrontMatterConstructor.add_constructor("tag:yaml.org,2002:str", _FrontMatterConstructor.construct_yaml_str)
_FrontMatterConstructor.add_constructor("tag:yaml.org,2002:timestamp",
                                        _FrontMatterConstructor.construct_yaml_timestamp)
_FrontMatterConstructor.add_constructor("tag:yaml.org,2002:int", _FrontMatterConstructor.construct_yaml_int)


class _FrontMatterLoader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer,
                         _FrontMatterConstructor, yaml.resolver.Resolver):
    """Pure-Python loader: slower, but its errors carry the precise messages reported to editors."""

    def __init__(self, stream):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _FrontMatterConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)


_FAST = getattr(yaml, "__with_libyaml__", False)
if _FAST:
    class _CFrontMatterLoader(yaml.cyaml.CParser, _FrontMatterConstructor, yaml.resolver.Resolver):
        """libyaml loader: the same construction, ten times faster, for front matters that parse."""

        def __init__(self, stream):
            yaml.cyaml.CParser.__init__(self, stream)
            _FrontMatterConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)


def load(front_text: str, first_line: int, report: Reporter) -> tuple[dict | None, Lines]:
    """The front matter mapping (None when a problem was reported) and the file line of each
    key path (("territoire", "departements", 0) → 12). ``first_line`` is the file line of the
    front matter's first line."""
    lines: Lines = {}
    separator = UNICODE_LINE_BREAK_RE.search(front_text)
    if separator:
        # YAML breaks lines there (editors mostly do not): the fields after it would be misread
        before = front_text[:separator.start()]
        report.error(before.count("\n") + first_line, "yaml_line_separator", code=ord(separator.group()),
                     column=separator.start() - (before.rfind(chr(10)) + 1) + 1)
        return None, lines
    if _FAST:
        fast = _load_fast(front_text, first_line, report, lines)
        if fast is not None:
            return (fast or None), lines
        lines.clear()
    return _load_python(front_text, first_line, report, lines), lines


def _load_python(front_text: str, offset: int, report: Reporter, lines: Lines) -> dict | None:
    try:
        if not scan_tokens(front_text, offset, report):
            return None
        node, data = _compose(_FrontMatterLoader(front_text), offset, report, lines)
        if node is None:
            report.error(offset - 1, "yaml_empty")
            return None
    except FrontMatterError as exc:
        report.error(exc.mark.line + offset, exc.code)
        return None
    except yaml.MarkedYAMLError as exc:
        line, code, values = _yaml_error(exc, offset)
        report.error(line, code, **values)
        return None
    except ReaderError as exc:
        before = front_text[:exc.position]
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        report.error(before.count("\n") + offset, "yaml_control_char", code=code,
                     column=exc.position - (before.rfind("\n") + 1) + 1)
        return None
    except (yaml.YAMLError, RecursionError, ValueError, TypeError, OverflowError, KeyError) as exc:
        # not expected after the token checks and the loader below; a fiche never crashes the tool
        report.error(offset, "yaml_unreadable", error=type(exc).__name__)
        return None
    if not isinstance(data, dict):
        report.error(offset, "yaml_not_mapping")
        return None
    return data


def _yaml_error(exc: yaml.MarkedYAMLError, offset: int) -> tuple:
    """(line, message code, values) of a YAML syntax error."""
    problem = (exc.problem or "").strip()
    context = exc.context or ""
    mark = exc.problem_mark or exc.context_mark
    if ("end of stream" in problem or "<stream end>" in problem) and exc.context_mark:
        mark = exc.context_mark  # the end of the block says nothing: point at what was left open
    line = mark.line + offset if mark else offset
    if "could not determine a constructor" in problem:
        return line, "yaml_tag_unknown", {"tag": problem.split("tag", 1)[-1].strip(" '")}
    if "quoted scalar" in context and "end of stream" in problem:
        return line, "yaml_unclosed_quote", {}
    if "'\\t'" in problem or "'\t'" in problem:
        return line, "yaml_tab", {}
    return line, "yaml_invalid", {"problem": problem, "context": ", " + exc.context if exc.context else ""}


def _load_fast(front_text: str, offset: int, report: Reporter, lines: Lines) -> dict | bool | None:
    """The front matter through libyaml: the mapping, False when a problem was reported,
    or None when libyaml fails, so the pure-Python path reports the error precisely."""
    problems_before = len(report.problems)
    try:
        if not scan_tokens(front_text, offset, report, yaml.CSafeLoader):
            return False
        node, data = _compose(_CFrontMatterLoader(front_text), offset, report, lines, mapping_only=True)
        if node is None:
            raise yaml.YAMLError("not a mapping")
    except FrontMatterError as exc:
        report.error(exc.mark.line + offset, exc.code)
        return False
    except Exception:  # noqa: BLE001 - any libyaml failure: start again in pure Python
        del report.problems[problems_before:]
        return None
    return data if isinstance(data, dict) else None


def _compose(loader, offset: int, report: Reporter, lines: Lines, mapping_only: bool = False) -> tuple:
    """(node, data) of the loader's single document, with the file line of every key path
    indexed; (None, None) for an empty document, or with ``mapping_only`` for anything but a
    mapping. The loader is disposed of."""
    try:
        node = loader.get_single_node()
        if node is None or (mapping_only and not isinstance(node, yaml.MappingNode)):
            return None, None
        index_lines(node, (), offset, report, lines)
        return node, loader.construct_document(node)
    finally:
        loader.dispose()


def scan_tokens(front_text: str, offset: int, report: Reporter, loader=yaml.SafeLoader) -> bool:
    """Refuse, before anything is built: anchors and aliases (the "billion laughs" bomb),
    tags other than ``!!str`` (object construction) and nesting deeper than MAX_YAML_DEPTH
    (PyYAML's scanner slows down quadratically and its composer recurses with depth)."""
    depth = 0
    for token in yaml.scan(front_text, Loader=loader):
        line = token.start_mark.line + offset
        if isinstance(token, (yaml.AliasToken, yaml.AnchorToken)):
            report.error(line, "yaml_anchor")
            return False
        if isinstance(token, yaml.TagToken) and token.value not in SAFE_TAGS:
            handle, suffix = token.value
            report.error(line, "yaml_tag", tag=f"{handle or ''}{suffix}")
            return False
        if isinstance(token, NESTING_START):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                report.error(line, "yaml_too_deep", depth=MAX_YAML_DEPTH)
                return False
        elif isinstance(token, NESTING_END):
            depth -= 1
    return True


def index_lines(node, key: tuple, offset: int, report: Reporter, lines: Lines) -> None:
    """The file line of every key path under ``node``; a key twice in a mapping is an error."""
    lines[key] = node.start_mark.line + offset
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key_node, value_node in node.value:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            line = key_node.start_mark.line + offset
            if name in seen:
                report.error(line, "key_duplicate", key + (name,), name=name)
            seen.add(name)
            index_lines(value_node, key + (name,), offset, report, lines)
            lines[key + (name,)] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            index_lines(item, key + (index,), offset, report, lines)
