"""The interactive API docs work offline: every asset the page names is served by waterops."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from waterops.api.app import create_app
from waterops.config import load_settings


def test_docs_page_loads_only_local_assets(tmp_path: Path) -> None:
    settings = load_settings({"WATEROPS_DATA_DIR": str(tmp_path)})
    with TestClient(create_app(settings)) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
        urls += re.findall(r"""url:\s*'([^']+)'""", page.text)
        assert urls, page.text
        for url in urls:
            assert not url.startswith(("http://", "https://", "//")), f"external asset {url}"
            assert client.get(url).status_code == 200, url
