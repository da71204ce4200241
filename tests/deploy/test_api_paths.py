"""API Gateway's rule for paths, checked on the template before a deploy finds it: at one position
under one parent, every path uses the same variable name (`/v1/contacts/{contact}/exists` and
`/v1/contacts/{contact}/picture`, never `{phone}` beside `{contact}`), or the import fails."""

from __future__ import annotations

from collections import defaultdict

from tests.deploy.test_template_drift import _api_operations


def test_sibling_path_variables_share_one_name() -> None:
    names: dict[str, set[str]] = defaultdict(set)
    for _method, path in _api_operations():
        parts = path.strip("/").split("/")
        for depth, part in enumerate(parts):
            if part.startswith("{"):
                names["/".join(parts[:depth])].add(part)
    clashes = {parent: sorted(found) for parent, found in names.items() if len(found) > 1}
    assert not clashes, clashes
