"""The API's own pages: Swagger UI (``/docs``) and ReDoc (``/redoc``), served offline.

Both load only files shipped in the package (``web/static/vendor/swagger-ui``,
``web/static/vendor/redoc``, licences beside them) and start from a static script
(no inline script: the Content-Security-Policy allows none). ``/favicon.ico`` is
Territorial's own icon.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
_ASSETS = "/workspace/static"

router = APIRouter(include_in_schema=False)

_SWAGGER = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Territorial API</title>
<link rel="icon" type="image/png" href="/favicon.ico">
<link rel="stylesheet" href="{_ASSETS}/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi="/openapi.json"></div>
<script src="{_ASSETS}/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="{_ASSETS}/api-docs/swagger-init.js"></script>
</body>
</html>
"""

_REDOC = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Territorial API reference</title>
<link rel="icon" type="image/png" href="/favicon.ico">
</head>
<body>
<redoc spec-url="/openapi.json"></redoc>
<script src="{_ASSETS}/vendor/redoc/redoc.standalone.js"></script>
</body>
</html>
"""


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    """Interactive API documentation (Swagger UI)."""
    return HTMLResponse(_SWAGGER)


@router.get("/redoc")
def redoc() -> HTMLResponse:
    """API reference (ReDoc)."""
    return HTMLResponse(_REDOC)


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(
        STATIC / "favicon.png",
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=86400"},
    )
