"""The documentation is tested like code.

* Every fenced block whose info string is ``python`` (and not ``python notest``) runs.
  Blocks of one page share a namespace and run in order, as a reader would run them;
  pages are independent of each other. Blocks run in a temporary working directory.
* Where a ``text`` block directly follows a ``python`` block, it is the output the page
  shows, and it must equal what the block prints (trailing spaces aside). A text block
  with a line ``...`` is a shortened excerpt and is not compared; nor are the pages in
  ``UNCHECKED_OUTPUT`` (written by others, whose outputs may be illustrative).
* Every page named in ``mkdocs.yml``'s ``nav`` exists, and no page is listed twice.
* Every relative link resolves to a file under ``docs/`` (or in the repository), and
  every ``page.md#anchor`` link to a heading that exists.

pathmodels' warnings are errors here as everywhere in the suite (``pyproject.toml``), so
a page that shows a warning must catch it explicitly, as a user would.
"""

from __future__ import annotations

import contextlib
import io
import re
import textwrap
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MKDOCS = ROOT / "mkdocs.yml"

# Optional packages a page may need; a page that fails to import one of them is skipped.
OPTIONAL_MODULES = {"dask", "distributed", "nutpie", "pymc", "arviz", "pytensor"}
# Pages whose shown outputs are not compared with the real ones (their code still runs).
UNCHECKED_OUTPUT = {"tutorials/power.md"}

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)(?P<info>[^\n]*)\n"
    r"(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
    re.M | re.S,
)
_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
_IMAGE = re.compile(r"!\[[^\]]*\]\((?P<target>[^)\s]+)\)")
_HEADING = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<title>.+?)[ \t]*#*[ \t]*$", re.M)
_ATTR_ID = re.compile(r"\{[^}]*#(?P<id>[\w-]+)[^}]*\}\s*$")
_INLINE_CODE = re.compile(r"`[^`\n]*`")


def _pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def _page_id(path: Path) -> str:
    return path.relative_to(DOCS).as_posix()


def python_blocks(text: str) -> list[tuple[int, str, str | None]]:
    """The runnable ``python`` blocks of a page, in order.

    Each item is (line number, code, shown output or None): the output is the body of a
    ``text`` block that directly follows (only blank lines between), unless it contains
    a ``...`` line.
    """
    fences = list(_FENCE.finditer(text))
    out: list[tuple[int, str, str | None]] = []
    for k, match in enumerate(fences):
        info = match.group("info").strip().split()
        if not info or info[0] != "python" or "notest" in info[1:]:
            continue
        line = text.count("\n", 0, match.start("body")) + 1
        shown = None
        if k + 1 < len(fences):
            nxt = fences[k + 1]
            between = text[match.end() : nxt.start()]
            if not between.strip() and nxt.group("info").strip() == "text":
                body = textwrap.dedent(nxt.group("body"))
                if not any(row.strip() == "..." for row in body.splitlines()):
                    shown = body
        out.append((line, textwrap.dedent(match.group("body")), shown))
    return out


def _normalise(output: str) -> str:
    return "\n".join(row.rstrip() for row in output.strip("\n").splitlines())


def _strip_fences(text: str) -> str:
    """The page with fenced blocks blanked out (keeping line numbers)."""
    return _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def _strip_code(text: str) -> str:
    """The page with fenced blocks and inline code removed (links there are not links)."""
    return _INLINE_CODE.sub("", _strip_fences(text))


def slugify(title: str) -> str:
    """Anchor of a heading as Python-Markdown's ``toc`` extension makes it."""
    title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)  # links keep their text
    title = title.replace("`", "").replace("*", "")
    value = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(r"[-\s]+", "-", value)


def anchors(text: str) -> set[str]:
    """Anchors defined by a page's headings (and ``{#id}`` attributes)."""
    found = set()
    for match in _HEADING.finditer(_strip_fences(text)):
        title = match.group("title")
        attr = _ATTR_ID.search(title)
        if attr:
            found.add(attr.group("id"))
            title = title[: attr.start()]
        found.add(slugify(title))
    return found


def _nav_pages(nav: Any) -> Iterator[str]:
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, list):
        for item in nav:
            yield from _nav_pages(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from _nav_pages(value)


def _load_mkdocs() -> dict[str, Any]:
    class Loader(yaml.SafeLoader):
        """Safe loader that tolerates mkdocs' ``!!python/name`` and ``!ENV`` tags."""

    Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    with MKDOCS.open(encoding="utf-8") as handle:
        config = yaml.load(handle, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    assert isinstance(config, dict)
    return config


# --------------------------------------------------------------------------- structure


def test_nav_pages_exist_once() -> None:
    config = _load_mkdocs()
    assert config.get("docs_dir", "docs") == "docs"
    listed = [p for p in _nav_pages(config["nav"]) if not p.startswith(("http://", "https://"))]
    assert listed, "mkdocs.yml has an empty nav"
    missing = [p for p in listed if not (DOCS / p).is_file()]
    assert not missing, f"pages in mkdocs.yml nav that do not exist: {missing}"
    repeated = sorted({p for p in listed if listed.count(p) > 1})
    assert not repeated, f"pages listed twice in the nav: {repeated}"


@pytest.mark.parametrize("page", _pages(), ids=_page_id)
def test_internal_links_resolve(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    body = _strip_code(text)
    problems = []
    targets = [m.group("target") for m in _LINK.finditer(body)]
    targets += [m.group("target") for m in _IMAGE.finditer(body)]
    for target in targets:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        if not path_part:
            dest = page
        else:
            dest = (page.parent / path_part).resolve()
            if dest.is_dir():
                dest = dest / "index.md"
            if not dest.exists():
                problems.append(f"{target}: no such file")
                continue
        if (
            anchor
            and dest.suffix == ".md"
            and anchor not in anchors(dest.read_text(encoding="utf-8"))
        ):
            problems.append(f"{target}: no heading with anchor #{anchor} in {dest.name}")
    assert not problems, f"broken links in {_page_id(page)}:\n  " + "\n  ".join(problems)


def test_block_extraction_is_not_vacuous() -> None:
    """The extractor finds python blocks, indented ones too, and skips notest/text blocks."""
    sample = textwrap.dedent(
        """\
        ```python
        x = 1
        ```

        !!! note
            ```python
            y = x + 1
            ```

        ```python notest
        raise RuntimeError
        ```

        ```text
        not code
        ```
        """
    )
    blocks = python_blocks(sample)
    assert [code for _, code, _ in blocks] == ["x = 1\n", "y = x + 1\n"]
    assert [line for line, _, _ in blocks] == [2, 7]
    assert [shown for _, _, shown in blocks] == [None, None]
    with_output = python_blocks("```python\nprint(1)\n```\n\n```text\n1\n```\n")
    assert with_output == [(2, "print(1)\n", "1\n")]
    excerpt = python_blocks("```python\nprint(1)\n```\n```text\n1\n...\n```\n")
    assert excerpt[0][2] is None
    assert sum(len(python_blocks(p.read_text(encoding="utf-8"))) for p in _pages()) > 20


def test_slugify_matches_mkdocs() -> None:
    assert slugify("Full or partial mediation?") == "full-or-partial-mediation"
    assert slugify("`fit()` and `Result`") == "fit-and-result"
    assert slugify("RI-CLPM or CLPM?") == "ri-clpm-or-clpm"
    assert "custom" in anchors("## A heading {#custom}\n")


# --------------------------------------------------------------------------- code


@pytest.mark.parametrize(
    "page",
    [p for p in _pages() if python_blocks(p.read_text(encoding="utf-8"))],
    ids=_page_id,
)
def test_page_code_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    check_output = _page_id(page) not in UNCHECKED_OUTPUT
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for line, code, shown in python_blocks(page.read_text(encoding="utf-8")):
        compiled = compile("\n" * (line - 1) + code, str(page), "exec")
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                exec(compiled, namespace)  # noqa: S102 - running our own documentation
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.split(".")[0] in OPTIONAL_MODULES:
                pytest.skip(f"{_page_id(page)} needs the optional package {exc.name}")
            raise
        if check_output and shown is not None:
            assert _normalise(printed.getvalue()) == _normalise(shown), (
                f"{_page_id(page)}, block at line {line}: the output shown on the page is not "
                "what the code prints"
            )
