"""docs/settings.md lists every environment variable the product reads, with a default and an
effect, and lists none that it does not read."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# env_str("NAME", ...), os.environ.get("NAME"), os.environ["NAME"], os.getenv("NAME")
READ = re.compile(r"(?:env_(?:str|int|bool|float|list)\(|environ(?:\.get)?[\[(]|getenv\()\s*\"([A-Z][A-Z0-9_]+)\"")
ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]+)`(?:, `([A-Z][A-Z0-9_]+)`)? \| (.+)$", re.M)


def _read_by_the_product() -> set[str]:
    files = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    names: set[str] = set()
    for name in files.split():
        if name.startswith(("tests/", "bench/")):
            continue
        names |= set(READ.findall((ROOT / name).read_text(encoding="utf-8")))
    return names


def _table() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for first, second, rest in ROW.findall((ROOT / "docs" / "settings.md").read_text(encoding="utf-8")):
        cells = [cell.strip() for cell in rest.rstrip("|").split(" | ")]
        for name in filter(None, (first, second)):
            rows[name] = cells
    return rows


def test_every_setting_read_is_in_the_table_with_a_default_and_an_effect():
    read = _read_by_the_product()
    assert {"DATABASE_URL", "REDIS_URL", "IM_SEND_RATE", "DJANGO_SECRET_KEY"} <= read
    table = _table()
    missing = sorted(read - set(table))
    assert not missing, f"not in docs/settings.md: {missing}"
    for name in read:
        assert len(table[name]) >= 2 and all(table[name]), (name, table[name])


def test_the_table_names_only_settings_something_reads():
    """Every IM_ or DJANGO_ variable in the table is read by the product, or by a start script."""
    scripts = "".join((ROOT / name).read_text(encoding="utf-8")
                      for name in ("bin/run", "bin/run-distributed", "Procfile.dist"))
    read = _read_by_the_product()
    unknown = sorted(name for name in _table() if name.startswith(("IM_", "DJANGO_"))
                     and name not in read and not re.search(rf"\b{name}\b", scripts))
    assert not unknown, f"docs/settings.md lists settings nothing reads: {unknown}"
