"""Every page we render runs under a Content-Security-Policy without 'unsafe-inline' scripts
(settings: CONTENT_SECURITY_POLICY). An inline handler (onclick=…), a javascript: link or an
inline <script> would be silently dead there: none may be written."""

import re
from pathlib import Path

from django.conf import settings

TAG = re.compile(r"<[a-zA-Z][^>]*>", re.DOTALL)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
SCRIPT_URL = re.compile(r"""=\s*["']?\s*javascript:""", re.IGNORECASE)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
# Scripts that carry data, not code (json_script), run nothing.
DATA_SCRIPT = re.compile(r"""type\s*=\s*["']application/(ld\+)?json["']""", re.IGNORECASE)


def project_templates():
    roots = [Path(settings.BASE_DIR) / "templates"]
    roots += [
        path for path in Path(settings.BASE_DIR).glob("*/templates") if ".venv" not in path.parts
    ]
    return sorted({path for root in roots for path in root.rglob("*.html")})


def test_the_scan_sees_the_templates():
    names = {path.name for path in project_templates()}
    assert {"packing_slip.html", "pay.html", "password_reset.html"} <= names


def test_no_template_has_inline_script():
    found = []
    for path in project_templates():
        html = path.read_text()
        for tag in TAG.findall(html):
            if INLINE_HANDLER.search(tag) or SCRIPT_URL.search(tag):
                found.append(f"{path.relative_to(settings.BASE_DIR)}: {tag[:80]}")
        for attributes in SCRIPT_TAG.findall(html):
            if "src=" not in attributes and not DATA_SCRIPT.search(attributes):
                found.append(f"{path.relative_to(settings.BASE_DIR)}: inline <script{attributes}>")
    assert found == []


def test_the_scan_finds_what_it_looks_for():
    sample = '<button type="button" onclick="window.print()">Print</button>'
    assert INLINE_HANDLER.search(TAG.findall(sample)[0])
    assert SCRIPT_URL.search('<a href="javascript:alert(1)">')
    assert not INLINE_HANDLER.search('<button type="button" data-print>')
