"""Tokenise and parse lavaan model syntax into statements.

The grammar follows lavaan's model syntax (Rosseel, 2012): one formula per line (or
separated by ``;``), ``#`` or ``!`` start comments, and a formula continues on the next
line when a line ends in an operator or the next line starts with ``+``/``*``.

The parser only recognises the *shape* of each statement; deciding which parameters a
model has (defaults, fixed first loadings, exogenous covariates) is the job of
:mod:`pathmodels.spec.table`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pathmodels.exceptions import ModelSyntaxError

__all__ = [
    "Constraint",
    "Definition",
    "Formula",
    "Modifier",
    "Statement",
    "Term",
    "parse_statements",
]

RelationOp = Literal["=~", "~", "~~", "~1"]

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\f\v]+)
  | (?P<newline>\n)
  | (?P<comment>[#!][^\n]*)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>"[^"\n]*"|'[^'\n]*')
  | (?P<name>[A-Za-z_.][A-Za-z0-9_.]*)
  | (?P<op>=~|~~|<~|:=|==|<=|>=|~\*~|\*\*|[~*+\-/^(),;:<>|=])
    """,
    re.VERBOSE,
)

# Tokens after which a formula continues on the next line.
_CONTINUES = {"+", "*", "~", "=~", "~~", ":=", "==", "<", ">", ",", "(", "-", "/", "^", "**"}


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token with its 1-based position."""

    kind: str
    text: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Modifier:
    """What a user wrote before ``*`` on a term.

    ``values`` holds one entry per group (a single entry applies to all groups): a float
    fixes the parameter, ``None`` (``NA``) frees it. ``labels`` likewise (``""`` = none).
    ``starts`` are starting values from ``start(...)``.
    """

    values: tuple[float | None, ...] = ()
    labels: tuple[str, ...] = ()
    starts: tuple[float, ...] = ()

    def merged(self, other: Modifier) -> Modifier:
        """Combine two modifiers of one term (``a*0.5*x``); later ones win."""
        return Modifier(
            values=other.values or self.values,
            labels=other.labels or self.labels,
            starts=other.starts or self.starts,
        )

    def __str__(self) -> str:
        parts = []
        if self.labels:
            parts.append(_fmt_multi(self.labels, quote=False))
        if self.values:
            parts.append(_fmt_multi(self.values, quote=False))
        if self.starts:
            inner = ", ".join(_fmt_num(s) for s in self.starts)
            parts.append(f"start({inner})" if len(self.starts) == 1 else f"start(c({inner}))")
        return "*".join(parts)


def _fmt_num(value: float | None) -> str:
    if value is None:
        return "NA"
    return repr(float(value)) if value != int(value) else str(int(value))


def _fmt_multi(items: tuple[str, ...] | tuple[float | None, ...], *, quote: bool) -> str:
    texts = [x if isinstance(x, str) else _fmt_num(x) for x in items]
    texts = [t if t else "NA" for t in texts]
    if len(texts) == 1:
        return texts[0]
    return "c(" + ", ".join(texts) + ")"


@dataclass(frozen=True, slots=True)
class Term:
    """A right-hand-side term: a variable (or ``1`` for an intercept) and its modifier."""

    name: str
    modifier: Modifier
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Formula:
    """``lhs op rhs1 + rhs2 ...`` with ``op`` one of ``=~``, ``~``, ``~~``, ``~1``."""

    lhs: tuple[str, ...]
    op: RelationOp
    rhs: tuple[Term, ...]
    line: int
    source: str


@dataclass(frozen=True, slots=True)
class Definition:
    """``name := expression``: a defined (derived) parameter.

    ``line``/``column`` locate the expression; ``source_line`` is the full line it sits
    on (None when it spans lines), printed with a caret under expression errors.
    """

    name: str
    expression: str
    line: int
    column: int
    source: str
    source_line: str | None = None


@dataclass(frozen=True, slots=True)
class Constraint:
    """``expr op expr`` with ``op`` one of ``==``, ``<``, ``>``.

    ``line``/``column`` locate the left expression and ``rhs_line``/``rhs_column`` the
    right one; ``source_line``/``rhs_source_line`` are their full lines (None when an
    expression spans lines), printed with a caret under expression errors.
    """

    lhs: str
    op: Literal["==", "<", ">"]
    rhs: str
    line: int
    column: int
    source: str
    source_line: str | None = None
    rhs_line: int = 0
    rhs_column: int = 0
    rhs_source_line: str | None = None


Statement = Formula | Definition | Constraint


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    lines = text.split("\n")
    line, col0 = 1, 0  # col0: offset of current line start in text
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            column = pos - col0 + 1
            raise ModelSyntaxError(
                f"unexpected character {text[pos]!r}; model syntax uses names, numbers and "
                "the operators =~ ~ ~~ := == < > * +",
                line=line,
                column=column,
                source_line=lines[line - 1],
            )
        kind = match.lastgroup or ""
        value = match.group()
        if kind == "newline":
            tokens.append(Token("newline", value, line, pos - col0 + 1))
            line += 1
            col0 = match.end()
        elif kind not in ("ws", "comment"):
            tokens.append(Token(kind, value, line, pos - col0 + 1))
        pos = match.end()
    return tokens


def _split_statements(tokens: list[Token]) -> list[list[Token]]:
    """Group tokens into statements, joining continued lines."""
    statements: list[list[Token]] = []
    current: list[Token] = []
    depth = 0
    significant = [t for t in tokens]
    for i, tok in enumerate(significant):
        if tok.kind == "op" and tok.text == "(":
            depth += 1
        elif tok.kind == "op" and tok.text == ")":
            depth = max(depth - 1, 0)
        if tok.kind == "newline" or (tok.kind == "op" and tok.text == ";"):
            if tok.kind == "newline" and current:
                last = current[-1]
                nxt = next((t for t in significant[i + 1 :] if t.kind != "newline"), None)
                continues = depth > 0 or (last.kind == "op" and last.text in _CONTINUES)
                if nxt is not None and nxt.kind == "op" and nxt.text in {"+", "*"}:
                    continues = True
                if continues:
                    continue
            if current:
                statements.append(current)
            current = []
            depth = 0
            continue
        current.append(tok)
    if current:
        statements.append(current)
    return statements


class _Cursor:
    """Walks the tokens of one statement with good error messages."""

    def __init__(self, tokens: list[Token], lines: list[str]) -> None:
        self.tokens = tokens
        self.lines = lines
        self.i = 0

    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def next(self) -> Token:
        tok = self.peek()
        if tok is None:
            self.fail_end("the formula ends too early")
        assert tok is not None
        self.i += 1
        return tok

    def at(self, text: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "op" and tok.text == text

    def fail(self, tok: Token, message: str) -> None:
        raise ModelSyntaxError(
            message, line=tok.line, column=tok.column, source_line=self.lines[tok.line - 1]
        )

    def fail_end(self, message: str) -> None:
        last = self.tokens[-1]
        raise ModelSyntaxError(
            message,
            line=last.line,
            column=last.column + len(last.text),
            source_line=self.lines[last.line - 1],
        )


def _full_line(tokens: list[Token], lines: list[str]) -> str | None:
    """The line the tokens sit on, or None when they span lines."""
    return lines[tokens[0].line - 1] if tokens[0].line == tokens[-1].line else None


def _source_text(tokens: list[Token], lines: list[str]) -> str:
    first, last = tokens[0], tokens[-1]
    if first.line == last.line:
        return lines[first.line - 1][first.column - 1 : last.column - 1 + len(last.text)]
    return " ".join(t.text for t in tokens)


def _read_number(cur: _Cursor) -> float:
    sign = 1.0
    if cur.at("-") or cur.at("+"):
        sign = -1.0 if cur.next().text == "-" else 1.0
    tok = cur.next()
    if tok.kind != "number":
        cur.fail(tok, f"expected a number, found {tok.text!r}")
    return sign * float(tok.text)


def _read_modifier_item(cur: _Cursor) -> float | None | str:
    """One element of a modifier: number, NA, name or quoted label."""
    tok = cur.peek()
    if tok is None:
        cur.fail_end("expected a value or label")
    assert tok is not None
    if tok.kind == "number" or (tok.kind == "op" and tok.text in "+-"):
        return _read_number(cur)
    cur.next()
    if tok.kind == "name":
        return None if tok.text == "NA" else tok.text
    if tok.kind == "string":
        return tok.text[1:-1]
    cur.fail(tok, f"expected a number, NA or a label, found {tok.text!r}")
    raise AssertionError  # unreachable


def _modifier_from_items(items: list[float | None | str], tok: Token, cur: _Cursor) -> Modifier:
    if all(isinstance(x, str) for x in items):
        return Modifier(labels=tuple(str(x) for x in items))
    if all(x is None or isinstance(x, float) for x in items):
        return Modifier(values=tuple(x if x is None else float(x) for x in items))  # type: ignore[arg-type]
    # Mixed c(a, 1, NA): a label where given, a value where given.
    labels = tuple(x if isinstance(x, str) else "" for x in items)
    values = tuple(None if isinstance(x, str) else x for x in items)
    if any(isinstance(x, float) for x in items):
        cur.fail(
            tok,
            "c() mixes labels and fixed values; write them as two modifiers, "
            "e.g. c(a1, a2)*c(1, NA)*x",
        )
    return Modifier(labels=labels, values=values)


def _read_modifier(cur: _Cursor) -> Modifier:
    """Read one modifier (before a '*')."""
    tok = cur.peek()
    assert tok is not None
    if tok.kind == "name" and cur.peek(1) is not None and _at_paren_after(cur):
        func = cur.next().text
        cur.next()  # (
        if func == "c":
            items = [_read_modifier_item(cur)]
            while cur.at(","):
                cur.next()
                items.append(_read_modifier_item(cur))
            _expect(cur, ")")
            return _modifier_from_items(items, tok, cur)
        if func in ("start", "label", "equal", "fixed"):
            inner = _read_call_args(cur)
            if func == "start":
                if any(not isinstance(x, float) for x in inner):
                    cur.fail(tok, "start() takes numbers, e.g. start(0.5)*x")
                return Modifier(starts=tuple(float(x) for x in inner))  # type: ignore[arg-type]
            if func in ("label", "equal"):
                if any(not isinstance(x, str) for x in inner):
                    cur.fail(tok, f'{func}() takes labels, e.g. {func}("a")*x')
                return Modifier(labels=tuple(str(x) for x in inner))
            return Modifier(values=tuple(x if x is None else float(x) for x in inner))  # type: ignore[arg-type]
        cur.fail(
            tok,
            f"unknown modifier function {func}(); use c(), start(), label(), equal() or fixed()",
        )
    item = _read_modifier_item(cur)
    if isinstance(item, str):
        return Modifier(labels=(item,))
    return Modifier(values=(item,))


def _read_call_args(cur: _Cursor) -> list[float | None | str]:
    if cur.at("c") or (cur.peek() is not None and cur.peek().text == "c"):  # type: ignore[union-attr]
        ctok = cur.next()
        if not cur.at("("):
            cur.fail(ctok, "expected '(' after c")
        cur.next()
        items = [_read_modifier_item(cur)]
        while cur.at(","):
            cur.next()
            items.append(_read_modifier_item(cur))
        _expect(cur, ")")
    else:
        items = [_read_modifier_item(cur)]
    _expect(cur, ")")
    return items


def _expect(cur: _Cursor, text: str) -> Token:
    tok = cur.peek()
    if tok is None:
        cur.fail_end(f"expected {text!r}")
    assert tok is not None
    if not (tok.kind == "op" and tok.text == text):
        cur.fail(tok, f"expected {text!r}, found {tok.text!r}")
    return cur.next()


def _at_paren_after(self: _Cursor) -> bool:
    nxt = self.peek(1)
    return nxt is not None and nxt.kind == "op" and nxt.text == "("


def _read_variable(cur: _Cursor, *, allow_one: bool) -> tuple[str, Token]:
    tok = cur.peek()
    if tok is None:
        cur.fail_end("expected a variable name")
    assert tok is not None
    if tok.kind == "number":
        cur.next()
        if allow_one and float(tok.text) == 1.0:
            return "1", tok
        cur.fail(
            tok,
            f"expected a variable name, found the number {tok.text}; put a "
            "fixed value before '*', e.g. 0.5*x",
        )
    if tok.kind != "name":
        cur.fail(tok, f"expected a variable name, found {tok.text!r}")
    cur.next()
    name = tok.text
    while cur.at(":"):
        cur.next()
        other = cur.peek()
        if other is None or other.kind != "name":
            if other is None:
                cur.fail_end("expected a variable after ':' (interaction term x:w)")
            assert other is not None
            cur.fail(other, "expected a variable after ':' (interaction term x:w)")
        assert other is not None
        cur.next()
        name = f"{name}:{other.text}"
    return name, tok


def _read_term(cur: _Cursor, *, allow_one: bool) -> Term:
    modifier = Modifier()
    first = cur.peek()
    assert first is not None
    # Read modifier*modifier*...*variable: everything before the last '*'.
    while True:
        start = cur.i
        tok = cur.peek()
        if tok is None:
            cur.fail_end("expected a term")
        # Try: modifier followed by '*'.
        try_mod = tok is not None and (
            tok.kind in ("number", "string")
            or (tok.kind == "name" and (_is_mod_name(cur) or _followed_by_star(cur)))
            or (
                tok.kind == "op"
                and tok.text in "+-"
                and cur.peek(1) is not None
                and cur.peek(1).kind == "number"
            )  # type: ignore[union-attr]
        )
        if try_mod:
            saved = cur.i
            mod = _read_modifier(cur)
            if cur.at("*"):
                cur.next()  # the '*'
                if cur.peek() is None:
                    # caret where the variable should be, just after the '*'
                    cur.fail_end("expected a variable after '*'")
                modifier = modifier.merged(mod)
                continue
            # Not a modifier after all: rewind and read as a variable.
            cur.i = saved
        cur.i = start
        name, vtok = _read_variable(cur, allow_one=allow_one)
        return Term(name=name, modifier=modifier, line=vtok.line, column=vtok.column)


def _is_mod_name(cur: _Cursor) -> bool:
    # Any name followed by '(' is a modifier function; unknown ones are reported by
    # _read_modifier with the list of valid functions.
    tok = cur.peek()
    return tok is not None and tok.kind == "name" and bool(_at_paren_after(cur))


def _followed_by_star(cur: _Cursor) -> bool:
    nxt = cur.peek(1)
    return nxt is not None and nxt.kind == "op" and nxt.text == "*"


_RELATIONS = ("=~", "~~", "~", ":=", "==", "<", ">")


def _parse_statement(tokens: list[Token], lines: list[str]) -> Statement:
    cur = _Cursor(tokens, lines)
    source = _source_text(tokens, lines)
    # R's assignment arrow written for a regression: 'y <- x' reads as the constraint
    # 'y < -x'. A space after '<' ('a < -b') keeps the constraint meaning.
    for k, tok in enumerate(tokens[:-2]):
        nxt, after = tokens[k + 1], tokens[k + 2]
        if (
            tok.text == "<"
            and nxt.text == "-"
            and nxt.line == tok.line
            and nxt.column == tok.column + 1
            and after.kind == "name"
        ):
            cur.fail(
                tok,
                "'<-' is not lavaan syntax; write a regression as 'y ~ x' (outcome "
                "on the left), or put a space after '<' for the constraint 'a < -b'",
            )
    # Locate the relational operator (first at paren depth 0).
    depth = 0
    op_index = -1
    for k, tok in enumerate(tokens):
        if tok.kind == "op" and tok.text == "(":
            depth += 1
        elif tok.kind == "op" and tok.text == ")":
            depth -= 1
        elif depth == 0 and tok.kind == "op" and tok.text in _RELATIONS:
            op_index = k
            break
        elif depth == 0 and tok.kind == "op" and tok.text in ("<~", "~*~", "|", "<=", ">="):
            hint = {
                "<~": "formative indicators (<~) are not supported",
                "~*~": "scaling factors (~*~) are only used with ordinal data, not supported",
                "|": (
                    "thresholds (|) are only used with ordinal data, not supported by the "
                    "ML backend"
                ),
                "<=": "use '<' for an inequality constraint",
                ">=": "use '>' for an inequality constraint",
            }[tok.text]
            cur.fail(tok, hint)
    if op_index < 0:
        cur.fail(
            tokens[0],
            "no operator found; each line needs one of =~ (latent), ~ (regression), "
            "~~ (covariance), := (defined parameter), ==, <, > (constraints)",
        )
    op_tok = tokens[op_index]
    if op_index == 0:
        cur.fail(op_tok, f"expected a variable name before {op_tok.text!r}")
    if op_index == len(tokens) - 1:
        cur.fail_end(f"expected something after {op_tok.text!r}")
    op = op_tok.text
    if op in (":=", "==", "<", ">"):
        rhs_tokens = tokens[op_index + 1 :]
        rhs_text = _source_text(rhs_tokens, lines)
        if op == ":=":
            if op_index != 1 or tokens[0].kind != "name":
                cur.fail(
                    tokens[0],
                    "a defined parameter needs a single name on the left, e.g. ind := a*b",
                )
            return Definition(
                name=tokens[0].text,
                expression=rhs_text,
                line=rhs_tokens[0].line,
                column=rhs_tokens[0].column,
                source=source,
                source_line=_full_line(rhs_tokens, lines),
            )
        lhs_text = _source_text(tokens[:op_index], lines)
        return Constraint(
            lhs=lhs_text,
            op=op,  # type: ignore[arg-type]
            rhs=rhs_text,
            line=tokens[0].line,
            column=tokens[0].column,
            source=source,
            source_line=_full_line(tokens[:op_index], lines),
            rhs_line=rhs_tokens[0].line,
            rhs_column=rhs_tokens[0].column,
            rhs_source_line=_full_line(rhs_tokens, lines),
        )
    # Relation: lhs variables separated by '+'.
    lhs: list[str] = []
    cur.i = 0
    while cur.i < op_index:
        tok = cur.next()
        if tok.kind != "name":
            cur.fail(
                tok,
                f"expected a variable name on the left of {op}, found {tok.text!r}"
                + ("; modifiers go on the right-hand side" if tok.text == "*" else ""),
            )
        lhs.append(tok.text)
        if cur.i < op_index:
            plus = cur.next()
            if not (plus.kind == "op" and plus.text == "+"):
                cur.fail(plus, f"expected '+' or {op!r}, found {plus.text!r}")
    cur.i = op_index + 1
    terms: list[Term] = []
    while True:
        terms.append(_read_term(cur, allow_one=(op == "~")))
        if cur.peek() is None:
            break
        tok = cur.next()
        if tok.kind == "op" and tok.text in _RELATIONS:
            cur.fail(
                tok,
                f"a second operator {tok.text!r} in one formula; does the line "
                "before end with '+' or '*' so that it runs on into this one?",
            )
        if not (tok.kind == "op" and tok.text == "+"):
            cur.fail(tok, f"expected '+' between terms, found {tok.text!r}")
        if cur.peek() is None:
            cur.fail_end("expected a term after '+'")
    intercepts = [t for t in terms if t.name == "1"]
    regressors = [t for t in terms if t.name != "1"]
    if op == "~" and intercepts:
        if regressors:
            cur.fail(tokens[op_index], "write intercepts on their own line, e.g. 'y ~ 1'")
        return Formula(tuple(lhs), "~1", tuple(intercepts), op_tok.line, source)
    return Formula(tuple(lhs), op, tuple(terms), op_tok.line, source)  # type: ignore[arg-type]


def parse_statements(text: str) -> list[Statement]:
    r"""Parse lavaan model syntax into a list of statements.

    Parameters
    ----------
    text : str
        Model syntax.

    Returns
    -------
    list of Formula, Definition or Constraint

    Raises
    ------
    ModelSyntaxError
        With line, column and a caret under the offending token.

    Examples
    --------
    >>> [s.op for s in parse_statements("m ~ a*x\ny ~ b*m  # outcome\nind := a*b")[:2]]
    ['~', '~']
    """
    if not isinstance(text, str):
        raise ModelSyntaxError(f"model syntax must be a string, got {type(text).__name__}")
    lines = text.split("\n")
    tokens = _tokenize(text)
    groups = _split_statements(tokens)
    if not groups:
        raise ModelSyntaxError(
            "the model syntax is empty; write at least one formula, e.g. 'y ~ x'"
        )
    return [_parse_statement(g, lines) for g in groups]
