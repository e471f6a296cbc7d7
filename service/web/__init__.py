"""Web pages in Bengali and English for officers and auditors.

The pages are server-rendered Jinja templates with one small CSS file and the
bundled Noto fonts, and no JavaScript. Each view checks the same permission
as the API endpoint that does the same work (:data:`service.auth.PERMISSIONS`)
and calls the same archive workflow function. Problems are shown in the
page's language with the API's code, title and detail.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/web")

from . import documents, pages, verifications  # noqa: E402,F401  (registers the views on bp)
