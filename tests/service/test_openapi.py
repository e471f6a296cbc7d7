"""The OpenAPI description matches the routes and the problem codes."""

from __future__ import annotations

from service.problems import STATUS_BY_CODE


def _spec(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_openapi_lists_every_api_route(app, client):
    spec = _spec(client)
    documented = {(method.upper(), "/api/v1" + path.replace("{document_id}", "<document_id>")
                   .replace("{number}", "<int:number>").replace("{role}", "<role>"))
                  for path, operations in spec["paths"].items() for method in operations}

    routes = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")
              for method in rule.methods - {"HEAD", "OPTIONS"}}

    assert documented == routes


def test_openapi_references_resolve(client):
    spec = _spec(client)
    references: list[str] = []

    def collect(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    references.append(value)
                else:
                    collect(value)
        elif isinstance(node, list):
            for item in node:
                collect(item)

    collect(spec)
    assert references
    for reference in references:
        section, name = reference.removeprefix("#/components/").split("/")
        assert name in spec["components"][section], reference


def test_openapi_problem_codes_complete(client):
    codes = _spec(client)["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]

    assert set(codes) == set(STATUS_BY_CODE)


def test_openapi_documents_verification_headers(client):
    headers = _spec(client)["paths"]["/documents/{document_id}/content"]["get"]["responses"]["200"]["headers"]

    assert "Dolil-Fixity" in headers
    assert "Dolil-Validation" in headers
