"""Builders that write labelled path models for common mediation designs.

Each builder writes lavaan syntax (available on its own through
:func:`mediation_syntax` and :func:`chain_syntax`) and parses it into a
:class:`~pathmodels.spec.Spec`. Every path a user would ask about is labelled, and the
effects a user would want are written as defined parameters (``:=``): each specific
indirect effect, the total indirect effect and the total effect.

Labels: ``mediation`` uses the textbook names: ``a_<m>`` for x -> m, ``b_<m>`` for m -> y,
``d_<m2>_<m1>`` for m1 -> m2 and ``cp`` (c-prime) for the direct effect x -> y.
``chain`` labels every path ``p_<to>_<from>``. Defined effects are ``ind_...``,
``total_ind`` and ``total``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pathmodels.exceptions import SpecificationError

if TYPE_CHECKING:
    from pathmodels.spec import Spec

__all__ = ["chain", "chain_syntax", "mediation", "mediation_syntax"]

# Variable names become parts of labels (``a_<m>``), so they must be plain ASCII
# identifiers: lavaan would accept dots, but ``a_x.1`` reads badly and some tools split
# on dots.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


# ----------------------------------------------------------------------------- helpers


def _names(value: str | Sequence[str] | Iterable[str], argument: str) -> list[str]:
    """Turn one name or a sequence of names into a list, checking each is an identifier."""
    if isinstance(value, str):
        items: list[Any] = [value]
    else:
        try:
            items = list(value)
        except TypeError:
            raise SpecificationError(
                f"{argument}= must be a variable name or a sequence of names, "
                f"got {type(value).__name__}."
            ) from None
    for item in items:
        if not isinstance(item, str):
            raise SpecificationError(
                f"{argument}= must contain variable names (str), got {item!r} "
                f"of type {type(item).__name__}."
            )
        if not _IDENTIFIER.match(item):
            raise SpecificationError(
                f"{argument}= contains {item!r}, which is not a valid variable name: use "
                "letters, digits and underscores, not starting with a digit (rename the "
                "data column, e.g. 'self-esteem' -> 'selfest')."
            )
    return items


def _name(value: str, argument: str) -> str:
    """Check that *value* is one valid variable name."""
    if not isinstance(value, str):
        raise SpecificationError(
            f"{argument}= must be one variable name (str), got {type(value).__name__}."
        )
    return _names(value, argument)[0]


def _check_distinct(roles: Sequence[tuple[str, Sequence[str]]]) -> None:
    """Raise if a variable is given twice, in one role or in two roles."""
    seen: dict[str, str] = {}
    for role, names in roles:
        for name in names:
            if name in seen:
                where = (
                    f"twice in {role}="
                    if seen[name] == role
                    else f"in both {seen[name]}= and {role}="
                )
                raise SpecificationError(
                    f"variable {name!r} appears {where}; each variable can play one role "
                    "in the model."
                )
            seen[name] = role


def _check_unique_labels(variables: Iterable[str], labels: Iterable[str]) -> None:
    """Raise if two generated labels or effect names coincide, or one equals a variable.

    Variable names containing underscores can make two different labels identical
    (``p_a_b_c`` is both ``a <- b_c`` and ``a_b <- c``); this is caught here rather than
    turned silently into an equality constraint.
    """
    variable_set = set(variables)
    seen: set[str] = set()
    for label in labels:
        if label in variable_set:
            raise SpecificationError(
                f"the generated label {label!r} equals a variable name; rename the "
                f"variable {label!r} (labels and variables share one namespace)."
            )
        if label in seen:
            raise SpecificationError(
                f"two paths or effects would both be labelled {label!r} because of "
                "underscores in the variable names; rename the variables so that no "
                "name is another name plus an underscore-separated part."
            )
        seen.add(label)


def _regression(lhs: str, terms: Sequence[str]) -> str:
    return f"{lhs} ~ {' + '.join(terms)}"


def _product(labels: Sequence[str]) -> str:
    return "*".join(labels)


# ---------------------------------------------------------------------------- mediation


def mediation_syntax(
    x: str,
    m: str | Sequence[str],
    y: str,
    *,
    covariates: Sequence[str] = (),
    serial: bool = False,
    direct: bool = True,
    covary_mediators: bool = True,
) -> str:
    """Write the lavaan syntax of a simple, parallel or serial mediation model.

    This is the text that :func:`mediation` parses; use it to read or edit the model
    before parsing. Parameters are those of :func:`mediation`.

    Returns
    -------
    str
        lavaan syntax, one statement a line, ending in a newline.

    Raises
    ------
    SpecificationError
        If a name is not a valid identifier, a variable is given twice, or two generated
        labels coincide.

    See Also
    --------
    mediation : The same model as a :class:`~pathmodels.spec.Spec`.

    Examples
    --------
    >>> print(mediation_syntax("arm", "employ", "qol"), end="")
    employ ~ a_employ*arm
    qol ~ cp*arm + b_employ*employ
    ind_employ := a_employ*b_employ
    total := cp + ind_employ
    """
    x_name = _name(x, "x")
    y_name = _name(y, "y")
    mediators = _names(m, "m")
    if not mediators:
        raise SpecificationError("m= is empty; give at least one mediator.")
    controls = _names(covariates, "covariates")
    _check_distinct([("x", [x_name]), ("m", mediators), ("y", [y_name]), ("covariates", controls)])

    a = {med: f"a_{med}" for med in mediators}
    b = {med: f"b_{med}" for med in mediators}

    def d(later: str, earlier: str) -> str:
        return f"d_{later}_{earlier}"

    lines: list[str] = []
    for k, med in enumerate(mediators):
        terms = [f"{a[med]}*{x_name}"]
        if serial:
            terms += [f"{d(med, earlier)}*{earlier}" for earlier in mediators[:k]]
        lines.append(_regression(med, terms + controls))
    y_terms = [f"cp*{x_name}"] if direct else []
    y_terms += [f"{b[med]}*{med}" for med in mediators]
    lines.append(_regression(y_name, y_terms + controls))

    # Residual covariances only among parallel mediators: in the serial model every
    # pair is already linked by a regression, and a residual covariance on top would
    # leave the model unidentified.
    if covary_mediators and not serial:
        lines += [f"{m1} ~~ {m2}" for m1, m2 in itertools.combinations(mediators, 2)]

    # Specific indirect effects: every ordered route through the mediators (serial) or
    # one route per mediator (parallel).
    if serial:
        routes = [
            list(route)
            for size in range(1, len(mediators) + 1)
            for route in itertools.combinations(mediators, size)
        ]
    else:
        routes = [[med] for med in mediators]
    effect_names: list[str] = []
    for route in routes:
        path = [a[route[0]]]
        path += [d(later, earlier) for earlier, later in itertools.pairwise(route)]
        path.append(b[route[-1]])
        effect = "ind_" + "_".join(route)
        effect_names.append(effect)
        lines.append(f"{effect} := {_product(path)}")
    if len(routes) > 1:
        lines.append(f"total_ind := {' + '.join(effect_names)}")
        indirect = "total_ind"
    else:
        indirect = effect_names[0]
    defined = list(effect_names) + (["total_ind"] if len(routes) > 1 else [])
    if direct:
        lines.append(f"total := cp + {indirect}")
        defined.append("total")

    labels = list(a.values()) + list(b.values()) + (["cp"] if direct else [])
    if serial:
        labels += [d(later, earlier) for earlier, later in itertools.combinations(mediators, 2)]
    _check_unique_labels([x_name, y_name, *mediators, *controls], labels + defined)
    return "\n".join(lines) + "\n"


def mediation(
    x: str,
    m: str | Sequence[str],
    y: str,
    *,
    covariates: Sequence[str] = (),
    serial: bool = False,
    direct: bool = True,
    covary_mediators: bool = True,
    name: str | None = None,
) -> Spec:
    """Build a simple, parallel or serial mediation model.

    Parameters
    ----------
    x : str
        The cause (e.g. the randomised arm).
    m : str or sequence of str
        One mediator (simple mediation) or several (parallel, or serial with
        ``serial=True``), in causal order for the serial model.
    y : str
        The outcome.
    covariates : sequence of str, default ()
        Variables that predict every mediator and the outcome (unlabelled paths). A
        single string is read as one covariate.
    serial : bool, default False
        If true, every earlier mediator predicts every later one (``d_<m2>_<m1>``), and
        every ordered route through the mediators gets its own indirect effect.
    direct : bool, default True
        Include the direct path x -> y (label ``cp``) and the ``total`` effect.
    covary_mediators : bool, default True
        Free the residual covariances among parallel mediators. Ignored when
        ``serial=True``: serial mediators are already linked by regressions.
    name : str, optional
        Name given to the spec.

    Returns
    -------
    Spec
        The parsed model. Its labels are ``a_<m>`` (x -> m), ``b_<m>`` (m -> y),
        ``d_<m2>_<m1>`` (m1 -> m2) and ``cp`` (x -> y); its defined parameters are
        ``ind_<m>`` for each specific indirect effect (serial routes
        ``ind_<m1>_<m2>``), ``total_ind`` when there is more than one route and
        ``total`` when ``direct=True``.

    Raises
    ------
    SpecificationError
        If a name is not a valid identifier (letters, digits, underscores), a variable
        is given twice (e.g. ``x`` also in ``m``), or two generated labels coincide.

    See Also
    --------
    mediation_syntax : The lavaan text this function parses.
    chain : Chains of stages, e.g. intervention -> mechanism -> outcomes.

    Notes
    -----
    The indirect effect of a route x -> m1 -> ... -> mk -> y is the product of the
    labelled paths along it, e.g. ``ind_m1_m2 := a_m1*d_m2_m1*b_m2``; the total effect
    is ``cp`` plus the sum of all specific indirect effects (Hayes, 2022, models 4
    and 6). Mediators should be continuous for these products to be on one scale; a
    binary mediator treated as continuous gives a linear-probability-scale effect.

    References
    ----------
    Hayes AF (2022). *Introduction to Mediation, Moderation, and Conditional Process
    Analysis* (3rd ed.). Guilford Press.

    Examples
    --------
    Parallel mediation of IPS on quality of life through self-esteem and social
    support, adjusting for age:

    >>> print(mediation_syntax("arm", ["selfest", "support"], "qol",
    ...                        covariates=["age"]), end="")
    selfest ~ a_selfest*arm + age
    support ~ a_support*arm + age
    qol ~ cp*arm + b_selfest*selfest + b_support*support + age
    selfest ~~ support
    ind_selfest := a_selfest*b_selfest
    ind_support := a_support*b_support
    total_ind := ind_selfest + ind_support
    total := cp + total_ind

    The same model as a spec:

    >>> spec = mediation("arm", ["selfest", "support"], "qol", covariates=["age"])
    """
    from pathmodels.spec import Spec

    text = mediation_syntax(
        x,
        m,
        y,
        covariates=covariates,
        serial=serial,
        direct=direct,
        covary_mediators=covary_mediators,
    )
    meta: Mapping[str, Any] = {
        "builder": "mediation",
        "x": x,
        "m": (m,) if isinstance(m, str) else tuple(m),
        "y": y,
        "covariates": (covariates,) if isinstance(covariates, str) else tuple(covariates),
        "serial": serial,
        "direct": direct,
        "covary_mediators": covary_mediators,
    }
    return Spec.from_syntax(text, name=name, meta=meta)


# -------------------------------------------------------------------------------- chain


def _stages(stages: Sequence[str | Sequence[str]]) -> list[list[str]]:
    if isinstance(stages, str):
        raise SpecificationError(
            "stages= must be a sequence of stages, e.g. ['arm', 'employ', "
            "['selfest', 'support'], 'qol'], not a single string."
        )
    out = [_names(stage, f"stages[{k}]") for k, stage in enumerate(stages)]
    if len(out) < 2:
        raise SpecificationError(
            f"stages= has {len(out)} stage(s); a chain needs at least two "
            "(cause and outcome), usually three or more."
        )
    for k, stage in enumerate(out):
        if not stage:
            raise SpecificationError(f"stages[{k}] is empty; give at least one variable.")
    return out


def chain_syntax(
    stages: Sequence[str | Sequence[str]],
    *,
    covariates: Sequence[str] = (),
    full: bool = False,
    direct: bool = False,
    covary_within_stage: bool = True,
) -> str:
    """Write the lavaan syntax of a chain of stages.

    This is the text that :func:`chain` parses. Parameters are those of :func:`chain`.

    Returns
    -------
    str
        lavaan syntax, one statement a line, ending in a newline.

    Raises
    ------
    SpecificationError
        If fewer than two stages are given, a stage is empty, a name is invalid or
        repeated, or two generated labels coincide.

    See Also
    --------
    chain : The same model as a :class:`~pathmodels.spec.Spec`.

    Examples
    --------
    >>> print(chain_syntax(["arm", "employ", "qol"], direct=True), end="")
    employ ~ p_employ_arm*arm
    qol ~ p_qol_employ*employ + p_qol_arm*arm
    ind_arm_employ_qol := p_employ_arm*p_qol_employ
    total := p_qol_arm + ind_arm_employ_qol
    """
    levels = _stages(stages)
    controls = _names(covariates, "covariates")
    _check_distinct([("stages", [v for level in levels for v in level]), ("covariates", controls)])
    first, last = levels[0], levels[-1]

    def label(to: str, frm: str) -> str:
        return f"p_{to}_{frm}"

    # Predecessors of every endogenous variable, in stage order.
    parents: dict[str, list[str]] = {}
    for k in range(1, len(levels)):
        sources = [v for level in levels[:k] for v in level] if full else list(levels[k - 1])
        for var in levels[k]:
            extra = (
                [f for f in first if f not in sources] if direct and k == len(levels) - 1 else []
            )
            parents[var] = sources + extra

    lines = [
        _regression(var, [f"{label(var, p)}*{p}" for p in ps] + controls)
        for var, ps in parents.items()
    ]
    if covary_within_stage:
        for level in levels[1:]:
            lines += [f"{v1} ~~ {v2}" for v1, v2 in itertools.combinations(level, 2)]

    # Every route of two or more paths from a first-stage to a last-stage variable.
    children: dict[str, list[str]] = {}
    for var, ps in parents.items():
        for p in ps:
            children.setdefault(p, []).append(var)

    def routes_from(node: str, target: str) -> list[list[str]]:
        if node == target:
            return [[node]]
        return [
            [node, *rest] for child in children.get(node, []) for rest in routes_from(child, target)
        ]

    one_pair = len(first) == 1 and len(last) == 1
    labels = [label(var, p) for var, ps in parents.items() for p in ps]
    defined: list[str] = []
    for source in first:
        for target in last:
            routes = [r for r in routes_from(source, target) if len(r) > 2]
            names = []
            for route in routes:
                effect = "ind_" + "_".join(route)
                names.append(effect)
                path = [label(to, frm) for frm, to in itertools.pairwise(route)]
                lines.append(f"{effect} := {_product(path)}")
            suffix = "" if one_pair else f"_{source}_{target}"
            indirect = names[0] if len(names) == 1 else None
            if len(names) > 1:
                indirect = f"total_ind{suffix}"
                lines.append(f"{indirect} := {' + '.join(names)}")
                names.append(indirect)
            if indirect is not None and source in parents[target]:
                total = f"total{suffix}"
                lines.append(f"{total} := {label(target, source)} + {indirect}")
                names.append(total)
            defined += names

    variables = [v for level in levels for v in level] + controls
    _check_unique_labels(variables, labels + defined)
    return "\n".join(lines) + "\n"


def chain(
    stages: Sequence[str | Sequence[str]],
    *,
    covariates: Sequence[str] = (),
    full: bool = False,
    direct: bool = False,
    covary_within_stage: bool = True,
    name: str | None = None,
) -> Spec:
    """Build a chain of stages: cause -> mechanism(s) -> ... -> outcome(s).

    Parameters
    ----------
    stages : sequence of (str or sequence of str)
        The stages in causal order; a stage is one variable or a list of variables
        that sit side by side (e.g. parallel mediators). At least two stages.
    covariates : sequence of str, default ()
        Variables that predict every variable after the first stage (unlabelled paths).
        A single string is read as one covariate.
    full : bool, default False
        If false, each variable of stage k is regressed on every variable of stage
        k - 1 only; if true, on every variable of all earlier stages.
    direct : bool, default False
        Add the direct paths from every first-stage to every last-stage variable (they
        are already present when ``full=True``).
    covary_within_stage : bool, default True
        Free the residual covariances among the variables of each stage after the
        first (variables in the first stage are exogenous and covary freely anyway).
    name : str, optional
        Name given to the spec.

    Returns
    -------
    Spec
        The parsed model. Every path is labelled ``p_<to>_<from>``. Defined
        parameters: ``ind_<from>_<via...>_<to>`` for every route of two or more paths
        from a first-stage variable to a last-stage variable; their sum
        ``total_ind`` when there is more than one route; ``total`` (direct plus
        indirect) when a direct path exists. With several first- or last-stage
        variables the sums are named per pair: ``total_ind_<from>_<to>``,
        ``total_<from>_<to>``.

    Raises
    ------
    SpecificationError
        If fewer than two stages are given, a stage is empty, a name is not a valid
        identifier or appears twice, or two generated labels coincide.

    See Also
    --------
    chain_syntax : The lavaan text this function parses.
    mediation : Simple, parallel and serial mediation with textbook labels.

    Notes
    -----
    A route's indirect effect is the product of the paths along it; the total effect
    of a first-stage variable on a last-stage variable is its direct path plus the
    sum of its indirect routes. The chains of the recovery logic model (Winsper et al.,
    2020) are written this way in the model library (:func:`pathmodels.load_model`).

    References
    ----------
    Winsper C, Crawford-Docherty A, Weich S, Fenton S-J, Singh SP (2020). How do
    recovery-oriented interventions contribute to personal mental health recovery? A
    systematic review and logic model. *Clinical Psychology Review* 76:101815.

    Examples
    --------
    IPS -> competitive employment -> {self-esteem, social support} -> quality of life:

    >>> print(chain_syntax(["arm", "employ", ["selfest", "support"], "qol"]), end="")
    employ ~ p_employ_arm*arm
    selfest ~ p_selfest_employ*employ
    support ~ p_support_employ*employ
    qol ~ p_qol_selfest*selfest + p_qol_support*support
    selfest ~~ support
    ind_arm_employ_selfest_qol := p_employ_arm*p_selfest_employ*p_qol_selfest
    ind_arm_employ_support_qol := p_employ_arm*p_support_employ*p_qol_support
    total_ind := ind_arm_employ_selfest_qol + ind_arm_employ_support_qol

    The same model as a spec:

    >>> spec = chain(["arm", "employ", ["selfest", "support"], "qol"], name="ips")
    """
    from pathmodels.spec import Spec

    text = chain_syntax(
        stages,
        covariates=covariates,
        full=full,
        direct=direct,
        covary_within_stage=covary_within_stage,
    )
    meta: Mapping[str, Any] = {
        "builder": "chain",
        "stages": tuple((s,) if isinstance(s, str) else tuple(s) for s in stages),
        "covariates": (covariates,) if isinstance(covariates, str) else tuple(covariates),
        "full": full,
        "direct": direct,
        "covary_within_stage": covary_within_stage,
    }
    return Spec.from_syntax(text, name=name, meta=meta)
