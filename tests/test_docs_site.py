"""The documentation site builds with `mkdocs build --strict`, and its generated references are
complete: every configuration key of the schema, every ErrorReason value, every name the Python
client exports. The firewall page names the ports the defaults use."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import kizuna_client
from kizuna_client.v1 import errors_pb2
from kizuna_server.calls.errors import REASON_CODES
from kizuna_server.config import _SCHEMA, PREFERENCES, default_listen_port
from kizuna_server.p2p.beacon import GROUP_V4, GROUP_V6

ROOT = Path(__file__).resolve().parents[1]
MKDOCS = Path(sys.executable).parent / "mkdocs"
_HEADING = re.compile(r"<h[1-6][ >]")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    assert MKDOCS.exists(), f"{MKDOCS} is missing: install the dev extra (pip install -e '.[dev]')"
    # The banners mkdocs-material and plugins print about MkDocs 2 are not build warnings.
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
    result = subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr}"
    return out


def _page(site: Path, page: str) -> str:
    return (site / page / "index.html").read_text(encoding="utf-8")


def _section(html: str, anchor: str) -> str:
    """The HTML from the heading with this id up to the next heading."""
    start = html.index(f'id="{anchor}"')
    following = _HEADING.search(html, start)
    return html[start : following.start() if following else len(html)]


def test_the_site_builds_strictly_with_every_page(site: Path) -> None:
    for page in ("", "guide", "firewall", "reference/configuration", "reference/errors"):
        assert (site / page / "index.html").is_file(), page
    assert (site / "reference/python/index.html").is_file()


def test_the_configuration_reference_lists_every_key_of_the_schema(site: Path) -> None:
    html = _page(site, "reference/configuration")
    keys = [f"{section}.{key}" for section, fields in _SCHEMA.items() for key in fields]
    assert len(keys) > 40  # the schema was read, not an empty stand-in

    for key in keys:
        assert f'id="{key}"' in html, f"{key} is missing from the configuration reference"
        entry = _section(html, key)
        assert "Default:" in entry and "Allowed:" in entry, key
        section, name = key.split(".")
        field = _SCHEMA[section][name]
        if isinstance(field.default, bool):
            assert f"<code>{str(field.default).lower()}</code>" in entry, key
        elif isinstance(field.default, int | float):
            assert f"<code>{field.default!r}</code>" in entry, key
        if key in PREFERENCES:
            assert "A preference" in entry, key


def test_the_error_reference_lists_every_reason(site: Path) -> None:
    html = _page(site, "reference/errors")
    reasons = [
        value.name.removeprefix("ERROR_REASON_")
        for value in errors_pb2.ErrorReason.DESCRIPTOR.values
        if value.number != errors_pb2.ERROR_REASON_UNSPECIFIED
    ]
    assert len(reasons) > 30

    for reason in reasons:
        assert f'id="{reason}"' in html, f"{reason} is missing from the error reference"
        entry = _section(html, reason)
        assert f"<code>{REASON_CODES[reason].name}</code>" in entry, reason
        assert f"ERROR_REASON_{reason} = " in entry, reason


def test_the_python_reference_documents_every_exported_name(site: Path) -> None:
    html = _page(site, "reference/python")

    for name in kizuna_client.__all__:
        anchor = re.compile(rf'id="kizuna_client(\.\w+)*\.{re.escape(name)}"')
        assert anchor.search(html), f"kizuna_client.{name} is missing from the Python reference"


def test_the_firewall_page_names_the_default_ports() -> None:
    text = (ROOT / "docs" / "firewall.md").read_text(encoding="utf-8")
    link = default_listen_port()
    beacon = _SCHEMA["discovery"]["udp_port"].default

    for fact in ("UDP 5353", f"UDP {beacon}", f"TCP {link}", f"TCP {link + 1}"):
        assert fact in text, fact
    assert GROUP_V4 in text and GROUP_V6 in text


def test_every_client_readme_is_a_page_of_the_site(site: Path) -> None:
    readmes = sorted(ROOT.glob("clients/*/README.md"))
    assert readmes

    for readme in readmes:
        language = readme.parent.name
        page = ROOT / "docs" / "clients" / f"{language}.md"
        include = f'--8<-- "clients/{language}/README.md"'
        assert page.is_file() and include in page.read_text(encoding="utf-8"), page
        assert (site / "clients" / language / "index.html").is_file(), (
            f"{readme.relative_to(ROOT)} exists but docs/clients/{language}.md is not built: "
            "remove it from exclude_docs in mkdocs.yml and add it to the nav"
        )
