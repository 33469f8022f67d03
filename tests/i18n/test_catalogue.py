"""The Chinese catalogues are complete and compiled (docs/api.md section 12). Strings are found as
translators find them, by `makemessages` (xgettext) over a copy of the source tree, for both
domains: django (Python, templates, emails) and djangojs (the browser client). A string without a
Chinese translation, or with a fuzzy (guessed) one, fails here, and so does a committed .mo file
that is older than its .po file. bin/test installs gettext."""

import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

BASE = Path(settings.BASE_DIR)
LOCALE = BASE / "locale" / "zh_Hans" / "LC_MESSAGES"
SOURCES = ("accounts", "chat", "conversations", "groups", "imsite", "templates", "static", "locale", "manage.py")
MSGID = re.compile(r'^msgid "(.+)"$', re.MULTILINE)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The catalogues as makemessages leaves them after reading today's sources."""
    tree = tmp_path_factory.mktemp("tree")
    for name in SOURCES:
        source = BASE / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tree / name)
    for domain in ("django", "djangojs"):
        subprocess.run([sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "-d", domain,
                        "--no-wrap", "-v", "0"], cwd=tree, check=True)
    return tree / "locale" / "zh_Hans" / "LC_MESSAGES"


def _entries(po: Path, *flags: str) -> list[str]:
    out = subprocess.run(["msgattrib", *flags, "--no-obsolete", "--no-wrap", str(po)],
                         capture_output=True, text=True, check=True).stdout
    return MSGID.findall(out)


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_every_ui_string_has_a_chinese_translation(extracted: Path, domain: str):
    po = extracted / f"{domain}.po"
    assert _entries(po), "no strings were found at all"
    assert _entries(po, "--untranslated") == [], f"untranslated in {domain}.po (run makemessages, translate)"
    assert _entries(po, "--only-fuzzy") == [], f"fuzzy (unchecked) translations in {domain}.po"


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_the_committed_mo_files_are_compiled_from_the_po_files(tmp_path: Path, domain: str):
    compiled = tmp_path / f"{domain}.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(compiled), str(LOCALE / f"{domain}.po")], check=True)
    with compiled.open("rb") as fresh, (LOCALE / f"{domain}.mo").open("rb") as committed:
        assert gettext.GNUTranslations(committed)._catalog == gettext.GNUTranslations(fresh)._catalog, \
            "run: python manage.py compilemessages"
