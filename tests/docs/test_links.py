"""The repository describes itself: every relative link in README and the Markdown docs resolves
to a file (and heading) inside it, nothing points outside it, and every "docs/api.md section N" in
code, comments and docs names a section that exists."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted(ROOT.glob("*.md")) + sorted((ROOT / "docs").glob("*.md")) + sorted((ROOT / "bench").glob("*.md"))

# [text](target), ![alt](target), <img src="target">, <a href="target">
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)"
                  r"|<(?:img|a)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
EXTERNAL = ("http://", "https://", "mailto:")
# Built from parts so that this file does not match itself.
OUTSIDE = [re.compile(p, re.I) for p in (
    r"\.\./" + "shared", "shared/" + "contract", r"\bcon" + r"tract sections?\s+\d",
    r"/work/" + "(?:shared|main|wt)\b")]


def _links(text: str) -> list[str]:
    text = CODE_SPAN.sub("", FENCE.sub("", text))
    return [m.group(1) or m.group(2) for m in LINK.finditer(text)]


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    heading = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"\s", "-", re.sub(r"[^\w\- ]", "", heading))


def _anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    slugs: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", text, re.M):
        slug, n = _slug(heading), 1
        while slug in slugs:  # repeated headings get -1, -2, ...
            slug, n = f"{_slug(heading)}-{n}", n + 1
        slugs.add(slug)
    return slugs


def test_the_checked_files_are_there():
    names = {p.relative_to(ROOT).as_posix() for p in DOCS}
    assert {"README.md", "docs/api.md", "docs/settings.md", "docs/websocket.md"} <= names


def _link_problems(doc: Path, root: Path = ROOT) -> list[str]:
    problems = []
    for target in _links(doc.read_text(encoding="utf-8")):
        if target.startswith(EXTERNAL):
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (doc.parent / path_part).resolve() if path_part else doc
        if not resolved.is_relative_to(root):
            problems.append(f"{target}: outside the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            problems.append(f"{target}: no heading #{anchor}")
    return problems


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve_inside_the_repository(doc: Path):
    problems = _link_problems(doc)
    assert not problems, problems


def test_a_link_to_an_existing_file_outside_the_repository_fails(tmp_path: Path):
    """The check above would pass a link that works only on the author's machine if it tested
    only that the file exists: a file beside the repository, or an absolute path, is refused."""
    repo, beside = tmp_path / "repo", tmp_path / "elsewhere"
    (repo / "docs").mkdir(parents=True)
    beside.mkdir()
    (beside / "notes.md").write_text("# Notes\n")
    (repo / "docs" / "guide.md").write_text("# Guide\n")
    readme = repo / "README.md"
    readme.write_text(f"[guide](docs/guide.md#guide), [notes](../elsewhere/notes.md), [abs]({beside}/notes.md)\n")
    assert _link_problems(readme, repo) == ["../elsewhere/notes.md: outside the repository",
                                            f"{beside}/notes.md: outside the repository"]


def test_nothing_refers_to_files_outside_the_repository():
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    hits = []
    for name in files.decode().split("\0"):
        path = ROOT / name
        if not name or not path.is_file() or path.suffix in {".png", ".jpg", ".webp", ".ico", ".woff2", ".mo"}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if any(p.search(line) for p in OUTSIDE):
                hits.append(f"{name}:{number}: {line.strip()}")
    assert not hits, "\n".join(hits)


def test_references_to_api_sections_name_sections_that_exist():
    api = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    sections = {int(n) for n in re.findall(r"^## (\d+)\. ", api, re.M)}
    assert sections == set(range(13))
    files = subprocess.run(["git", "grep", "-n", "-z", "-E", r"api\.md\)? sections? [0-9]"], cwd=ROOT,
                           capture_output=True, text=True).stdout
    wrong = []
    for hit in filter(None, files.split("\n")):
        name, number, line = hit.split("\0", 2)
        for numbers in re.findall(r"api\.md\)? sections? ((?:\d+(?:, | and | to |-|–))*\d+)", line):
            for n in re.findall(r"\d+", numbers):
                if int(n) not in sections:
                    wrong.append(f"{name}:{number}: section {n}")
    assert not wrong, wrong
