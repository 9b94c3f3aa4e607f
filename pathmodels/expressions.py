"""Arithmetic expressions of lavaan's ``:=``, ``==``, ``<`` and ``>`` statements.

The right-hand side of ``ind := a*b`` or ``a == 2*b`` is an R expression over parameter
labels. pathmodels accepts the part of R that such models use: numbers (``2``, ``.5``,
``1e-3``), labels (R names: letters, digits, ``.`` and ``_``, not starting with a digit),
``+ - * /``, powers written ``^`` or ``**``, unary ``-``/``+``, parentheses and the
functions in :data:`FUNCTIONS`. Precedence follows R: ``^`` binds tightest and is
right-associative, so ``-a^2`` is ``-(a^2)`` and ``2^-1`` is ``0.5``.

The parser is a small tokenizer plus recursive descent; nothing is ever passed to
``eval``. Evaluation is vectorised: labels may be bound to arrays of draws, which
broadcast.

This module also holds the numerical derivative used by the delta method
(:func:`numeric_jacobian`, :func:`delta_covariance`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special

from pathmodels._typing import FloatArray
from pathmodels.exceptions import ModelSyntaxError, SpecificationError, close_matches

__all__ = [
    "FUNCTIONS",
    "BinaryOp",
    "Call",
    "Expression",
    "Name",
    "Node",
    "Number",
    "UnaryOp",
    "delta_covariance",
    "numeric_jacobian",
    "parse_expression",
]

Value = float | np.ndarray

#: Functions an expression may call, each with exactly one argument (R's meaning).
FUNCTIONS: Mapping[str, Callable[[np.ndarray], np.ndarray]] = {
    "abs": np.abs,
    "atanh": np.arctanh,
    "exp": np.exp,
    "log": np.log,
    "log10": np.log10,
    "pnorm": special.ndtr,
    "qnorm": special.ndtri,
    "sqrt": np.sqrt,
    "tanh": np.tanh,
}

_ALLOWED = ", ".join(sorted(FUNCTIONS))


# ------------------------------------------------------------------------ the tree
@dataclass(frozen=True, slots=True)
class Number:
    """A numeric literal (always non-negative; a sign is a :class:`UnaryOp`)."""

    value: float


@dataclass(frozen=True, slots=True)
class Name:
    """A parameter label."""

    name: str


@dataclass(frozen=True, slots=True)
class UnaryOp:
    """Unary minus (unary plus is dropped by the parser)."""

    op: Literal["-"]
    operand: Node


@dataclass(frozen=True, slots=True)
class BinaryOp:
    """``left op right``; ``op`` is one of ``+ - * / ^``."""

    op: Literal["+", "-", "*", "/", "^"]
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Call:
    """``func(arg)`` for a function in :data:`FUNCTIONS`."""

    func: str
    arg: Node


Node = Number | Name | UnaryOp | BinaryOp | Call

# Binding strength, used by the printer: larger binds tighter.
_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "unary": 3, "^": 4, "atom": 5}


def _prec(node: Node) -> int:
    if isinstance(node, BinaryOp):
        return _PREC[node.op]
    if isinstance(node, UnaryOp):
        return _PREC["unary"]
    return _PREC["atom"]


def _format_number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _to_text(node: Node) -> str:
    if isinstance(node, Number):
        return _format_number(node.value)
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Call):
        return f"{node.func}({_to_text(node.arg)})"
    if isinstance(node, UnaryOp):
        inner = _to_text(node.operand)
        if _prec(node.operand) < _PREC["unary"]:
            inner = f"({inner})"
        return f"-{inner}"
    p = _PREC[node.op]
    left, right = _to_text(node.left), _to_text(node.right)
    if node.op == "^":
        # Right-associative; the exponent may carry a sign (2^-1), the base may not.
        if _prec(node.left) <= p:
            left = f"({left})"
        if _prec(node.right) < _PREC["unary"]:
            right = f"({right})"
        return f"{left}^{right}"
    if _prec(node.left) < p:
        left = f"({left})"
    if _prec(node.right) <= p:
        right = f"({right})"
    if node.op in "+-":
        return f"{left} {node.op} {right}"
    return f"{left}{node.op}{right}"


def _names(node: Node, out: dict[str, None]) -> None:
    if isinstance(node, Name):
        out.setdefault(node.name, None)
    elif isinstance(node, UnaryOp):
        _names(node.operand, out)
    elif isinstance(node, BinaryOp):
        _names(node.left, out)
        _names(node.right, out)
    elif isinstance(node, Call):
        _names(node.arg, out)


def _as_operand(value: object, name: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "biufc":
        raise SpecificationError(
            f"the value of {name!r} must be a number or numeric array, got {type(value).__name__}"
        )
    # Integers become floats: numpy refuses integer ** negative integer.
    return arr.astype(np.result_type(arr.dtype, np.float64), copy=False)


def _eval(node: Node, values: Mapping[str, object]) -> np.ndarray:
    if isinstance(node, Number):
        return np.asarray(node.value)
    if isinstance(node, Name):
        if node.name not in values:
            raise SpecificationError(
                f"no value for {node.name!r} in the expression; "
                + close_matches(node.name, values.keys())
            )
        return _as_operand(values[node.name], node.name)
    if isinstance(node, UnaryOp):
        return np.negative(_eval(node.operand, values))
    if isinstance(node, Call):
        return np.asarray(FUNCTIONS[node.func](_eval(node.arg, values)))
    left, right = _eval(node.left, values), _eval(node.right, values)
    if node.op == "+":
        return np.add(left, right)
    if node.op == "-":
        return np.subtract(left, right)
    if node.op == "*":
        return np.multiply(left, right)
    if node.op == "/":
        return np.divide(left, right)
    return np.power(left, right)


@dataclass(frozen=True)
class Expression:
    """A parsed expression: its source text, the labels it uses, and its tree.

    Build one with :func:`parse_expression`. Two expressions are equal when their trees
    are, whatever their spacing or redundant parentheses.

    Attributes
    ----------
    text : str
        The text as written.
    names : tuple of str
        Labels used, in order of first appearance.
    tree : Node
        The parsed expression.

    Examples
    --------
    >>> e = parse_expression("a*b + c")
    >>> e.names
    ('a', 'b', 'c')
    >>> e.evaluate({"a": 0.5, "b": 0.4, "c": 0.1})
    0.30000000000000004
    >>> e.evaluate({"a": np.array([0.5, 1.0]), "b": 0.4, "c": 0.1})
    array([0.3, 0.5])
    >>> str(parse_expression("(a * b) ** 2")) == "(a*b)^2"
    True
    """

    text: str = field(compare=False)
    names: tuple[str, ...] = field(compare=False)
    tree: Node = field(repr=False)

    def evaluate(self, values: Mapping[str, float | np.ndarray]) -> float | np.ndarray:
        """Evaluate with each label bound to a number or an array (arrays broadcast).

        Parameters
        ----------
        values : mapping of str to float or numpy.ndarray
            A value for every name in :attr:`names`; extra entries are ignored.

        Returns
        -------
        float or numpy.ndarray
            A float when every value used is a scalar, otherwise the broadcast array.
            Invalid operations give ``nan``/``inf`` as in R (``log(-1)``, ``1/0``).

        Raises
        ------
        SpecificationError
            A name has no value (the message lists close matches) or a value is not
            numeric.

        Examples
        --------
        >>> parse_expression("exp(-x)/2").evaluate({"x": 0.0})
        0.5
        """
        with np.errstate(all="ignore"):
            result = _eval(self.tree, values)
        if result.ndim == 0:
            return result.item()  # type: ignore[no-any-return]
        return result

    def __str__(self) -> str:
        """Normalised text (minimal parentheses, ``^`` for powers) that parses back."""
        return _to_text(self.tree)


# ------------------------------------------------------------------- tokenizer
_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z.][A-Za-z0-9_.]*)
  | (?P<op>\*\*|[-+*/^(),])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: Literal["number", "name", "op", "end"]
    text: str
    pos: int


class _Parser:
    def __init__(
        self, text: str, line: int | None, column_offset: int, source_line: str | None
    ) -> None:
        self.text = text
        self.line = line
        self.column_offset = column_offset
        self.source_line = source_line
        self.tokens = self._tokenize()
        self.i = 0

    # -- errors --------------------------------------------------------------
    def fail(self, pos: int, message: str) -> ModelSyntaxError:
        line, column, source = self.line, self.column_offset + pos + 1, self.source_line
        before = self.text[:pos]
        if "\n" in before:  # a multi-line expression: report the line inside it
            line = (line or 1) + before.count("\n")
            column = pos - before.rfind("\n")
            source = self.text.split("\n")[before.count("\n")]
        elif source is None and line is None:
            # Standalone use: show the expression itself under the message.
            source = self.text
        if line is None and source is not None:
            # ModelSyntaxError only renders position and caret with a line number.
            return ModelSyntaxError(
                f"column {column}: {message}\n  {source}\n  " + " " * (column - 1) + "^",
                column=column,
                source_line=source,
            )
        return ModelSyntaxError(message, line=line, column=column, source_line=source)

    def _tokenize(self) -> list[_Token]:
        tokens: list[_Token] = []
        pos = 0
        while pos < len(self.text):
            match = _TOKEN_RE.match(self.text, pos)
            if match is None:
                char = self.text[pos]
                hint = ""
                if char == "_":
                    hint = " (a name cannot start with '_')"
                elif char in "=<>":
                    hint = " (only one comparison is allowed per constraint)"
                raise self.fail(
                    pos,
                    f"unexpected character {char!r}{hint}; an expression uses numbers, "
                    f"parameter labels, + - * / ^, parentheses and the functions {_ALLOWED}",
                )
            kind = match.lastgroup
            if kind != "ws":
                tokens.append(_Token(kind, match.group(), pos))  # type: ignore[arg-type]
            pos = match.end()
        tokens.append(_Token("end", "", len(self.text.rstrip())))
        return tokens

    # -- cursor --------------------------------------------------------------
    def peek(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at_op(self, *ops: str) -> bool:
        tok = self.peek()
        return tok.kind == "op" and tok.text in ops

    # -- grammar -------------------------------------------------------------
    # expr  := term (('+'|'-') term)*
    # term  := unary (('*'|'/') unary)*
    # unary := ('-'|'+') unary | power
    # power := atom (('^'|'**') unary)?
    # atom  := NUMBER | NAME | NAME '(' expr ')' | '(' expr ')'
    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.fail(0, "expected an expression, found nothing")
        node = self.expr(after=None)
        tok = self.peek()
        if tok.kind != "end":
            if tok.text == ")":
                raise self.fail(tok.pos, "unmatched ')'")
            if tok.text == ",":
                raise self.fail(tok.pos, "unexpected ',' outside a function call")
            hint = ""
            prev = self.tokens[self.i - 1]
            if tok.kind in ("name", "number") or tok.text == "(":
                hint = f"; did you mean '{prev.text}*{tok.text}'?"
            raise self.fail(tok.pos, f"unexpected {tok.text!r} after a complete expression{hint}")
        return node

    def expr(self, after: _Token | None) -> Node:
        node = self.term(after)
        while self.at_op("+", "-"):
            op = self.advance()
            node = BinaryOp(op.text, node, self.term(op))  # type: ignore[arg-type]
        return node

    def term(self, after: _Token | None) -> Node:
        node = self.unary(after)
        while self.at_op("*", "/"):
            op = self.advance()
            node = BinaryOp(op.text, node, self.unary(op))  # type: ignore[arg-type]
        return node

    def unary(self, after: _Token | None) -> Node:
        if self.at_op("-", "+"):
            op = self.advance()
            operand = self.unary(op)
            return UnaryOp("-", operand) if op.text == "-" else operand
        return self.power(after)

    def power(self, after: _Token | None) -> Node:
        base = self.atom(after)
        if self.at_op("^", "**"):
            op = self.advance()
            return BinaryOp("^", base, self.unary(op))
        return base

    def atom(self, after: _Token | None) -> Node:
        tok = self.peek()
        if tok.kind == "number":
            self.advance()
            value = float(tok.text)
            if not np.isfinite(value):
                raise self.fail(tok.pos, f"the number {tok.text} is too large for a float")
            return Number(value)
        if tok.kind == "name":
            self.advance()
            if self.at_op("("):
                return self.call(tok)
            return Name(tok.text)
        if self.at_op("("):
            self.advance()
            node = self.expr(tok)
            if not self.at_op(")"):
                raise self.fail(
                    self.peek().pos,
                    f"missing ')' to close the '(' at column {self.column_offset + tok.pos + 1}",
                )
            self.advance()
            return node
        where = f"after {after.text!r}" if after is not None else "here"
        found = "the end of the expression" if tok.kind == "end" else repr(tok.text)
        raise self.fail(tok.pos, f"expected a number, name or '(' {where}, found {found}")

    def call(self, name: _Token) -> Node:
        if name.text not in FUNCTIONS:
            raise self.fail(
                name.pos,
                f"unknown function {name.text!r}; allowed functions: {_ALLOWED}",
            )
        open_tok = self.advance()
        arg = self.expr(open_tok)
        if self.at_op(","):
            raise self.fail(
                self.peek().pos, f"{name.text}() takes exactly one argument in an expression"
            )
        if not self.at_op(")"):
            raise self.fail(
                self.peek().pos,
                f"missing ')' to close {name.text}( at column "
                f"{self.column_offset + open_tok.pos + 1}",
            )
        self.advance()
        return Call(name.text, arg)


def parse_expression(
    text: str,
    *,
    line: int | None = None,
    column_offset: int = 0,
    source_line: str | None = None,
) -> Expression:
    """Parse the arithmetic expression of a ``:=`` or constraint statement.

    Parameters
    ----------
    text : str
        The expression, e.g. ``"a*b"`` or ``"(a1 + a2)/2"``.
    line : int, optional
        1-based line of the statement in the model syntax, for error messages.
    column_offset : int, default 0
        Number of characters before ``text`` on its line; error columns are
        ``column_offset + position + 1``.
    source_line : str, optional
        The full line, printed under a syntax error with a caret.

    Returns
    -------
    Expression

    Raises
    ------
    ModelSyntaxError
        The text is not a valid expression; the error gives the column of the offending
        token (and its line when ``line`` is given).

    See Also
    --------
    FUNCTIONS : the functions an expression may call.

    Notes
    -----
    The grammar is R's for these operators: ``^`` (or ``**``) binds tightest and is
    right-associative, then unary minus, then ``* /``, then ``+ -`` (both
    left-associative). lavaan evaluates ``:=`` expressions as arbitrary R code;
    pathmodels accepts only this subset, so an expression lavaan accepts may be
    rejected here with a message listing what is allowed.

    Examples
    --------
    >>> expr = parse_expression("a1*b1 + a2*b2")
    >>> expr.names
    ('a1', 'b1', 'a2', 'b2')
    >>> str(parse_expression("-a^2"))
    '-a^2'
    >>> parse_expression("2^-1").evaluate({})
    0.5
    >>> parse_expression("a*", line=3, column_offset=7,
    ...                  source_line="ind := a*")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pathmodels.exceptions.ModelSyntaxError: line 3, column 10: expected a number, name or '(' ...
    """
    parser = _Parser(text, line, column_offset, source_line)
    tree = parser.parse()
    found: dict[str, None] = {}
    _names(tree, found)
    return Expression(text=text, names=tuple(found), tree=tree)


# ------------------------------------------------------------------ delta method
def numeric_jacobian(
    func: Callable[[FloatArray], npt.ArrayLike],
    theta: npt.ArrayLike,
    *,
    rel_step: float | None = None,
) -> FloatArray:
    """Jacobian of a vector-valued function by central differences.

    Parameters
    ----------
    func : callable
        Maps a parameter vector of length ``k_in`` to ``k_out`` values (a scalar counts
        as one).
    theta : array_like, shape (k_in,)
        Point at which to differentiate.
    rel_step : float, optional
        Relative step; parameter ``j`` moves by ``h_j = rel_step · max(1, |θ_j|)``.
        Default ``ε^{1/3} ≈ 6.1e-6``, which balances truncation and rounding error for
        central differences.

    Returns
    -------
    numpy.ndarray, shape (k_out, k_in)
        ``J[i, j] = ∂f_i/∂θ_j``.

    Raises
    ------
    SpecificationError
        ``theta`` is not a finite vector or ``rel_step`` is not positive.

    Notes
    -----
    ``J[:, j] = (f(θ + h_j e_j) − f(θ − h_j e_j)) / (2 h_j)``, with ``h_j`` rounded so
    that ``θ_j ± h_j`` is exactly representable (the trick lavaan also uses). lavaan's
    ``lav_func_jacobian_complex`` differentiates ``:=`` functions with a complex step
    ``h = ε·max(1, |θ|)`` (exact up to rounding), falling back to forward differences
    with ``h = √ε·max(1, |θ|)``; central differences are within about ``1e-10``
    relative of the complex step, for a fraction of the code, and exact for the
    quadratic functions (products of two labels) most ``:=`` definitions are.

    Examples
    --------
    >>> jac = numeric_jacobian(lambda t: [t[0] * t[1], t[0] ** 2], [2.0, 3.0])
    >>> np.round(jac, 8)
    array([[3., 2.],
           [4., 0.]])
    """
    x = np.atleast_1d(np.asarray(theta, dtype=float))
    if x.ndim != 1 or not np.all(np.isfinite(x)):
        raise SpecificationError("theta= must be a finite vector to differentiate at")
    step = np.finfo(float).eps ** (1.0 / 3.0) if rel_step is None else float(rel_step)
    if not step > 0:
        raise SpecificationError(f"rel_step={rel_step!r} must be positive")
    h = step * np.maximum(1.0, np.abs(x))
    h = (x + h) - x  # exactly representable step
    f0 = np.atleast_1d(np.asarray(func(x.copy()), dtype=float))
    jac = np.empty((f0.shape[0], x.shape[0]))
    for j in range(x.shape[0]):
        up, down = x.copy(), x.copy()
        up[j] += h[j]
        down[j] -= h[j]
        f_up = np.atleast_1d(np.asarray(func(up), dtype=float))
        f_down = np.atleast_1d(np.asarray(func(down), dtype=float))
        jac[:, j] = (f_up - f_down) / (2.0 * h[j])
    return jac


def delta_covariance(
    func: Callable[[FloatArray], npt.ArrayLike],
    theta: npt.ArrayLike,
    vcov: npt.ArrayLike,
    *,
    rel_step: float | None = None,
) -> FloatArray:
    """Delta-method covariance ``J V Jᵀ`` of ``func(theta)``.

    Parameters
    ----------
    func : callable
        Maps the ``k_in`` parameters to ``k_out`` derived quantities.
    theta : array_like, shape (k_in,)
        Parameter estimates.
    vcov : array_like, shape (k_in, k_in)
        Their covariance matrix.
    rel_step : float, optional
        Passed to :func:`numeric_jacobian`.

    Returns
    -------
    numpy.ndarray, shape (k_out, k_out)
        Covariance matrix of the derived quantities; the square roots of its diagonal
        are their delta-method standard errors (lavaan's SEs of ``:=`` parameters).

    Raises
    ------
    SpecificationError
        ``vcov`` does not match ``theta``.

    See Also
    --------
    numeric_jacobian

    Examples
    --------
    >>> cov = delta_covariance(lambda t: t[0] * t[1], [0.5, 0.4], np.diag([0.01, 0.04]))
    >>> float(np.sqrt(cov[0, 0])).__round__(6)   # Sobel SE: sqrt(b²σa² + a²σb²)
    0.107703
    """
    x = np.atleast_1d(np.asarray(theta, dtype=float))
    v = np.asarray(vcov, dtype=float)
    if v.shape != (x.shape[0], x.shape[0]):
        raise SpecificationError(
            f"vcov= must be ({x.shape[0]}, {x.shape[0]}) to match theta=; got {v.shape}"
        )
    jac = numeric_jacobian(func, x, rel_step=rel_step)
    return np.asarray(jac @ v @ jac.T, dtype=float)
