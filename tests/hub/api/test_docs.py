"""The API's reference page works on a closed network: every file it loads is served by the hub itself."""

import re

from fastapi.testclient import TestClient


def test_the_docs_page_loads_only_files_the_hub_serves(api: TestClient) -> None:
    page = api.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text) + re.findall(r"url: *'([^']+)'", page.text)
    assert assets and all(asset.startswith("/") for asset in assets), assets
    for asset in assets:
        assert api.get(asset).status_code == 200, asset
    assert api.get("/redoc").status_code == 404
