"""Schemathesis drives every API operation from the OpenAPI schema with a valid token for each
role: no 5xx, and no answer that breaks the schema. Bounded so it stays part of `make test`."""

from __future__ import annotations

import itertools
import json

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from heart_cases.wsgi import application
from tests.conftest import ROLES

_document = json.loads(
    OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True))
)
schema = schemathesis.openapi.from_dict(_document)
schema.app = application
_turns = itertools.count()
# Each operation runs this many examples, the roles' tokens taking turns, so every role sends
# about two per operation.
EXAMPLES_PER_OPERATION = 2 * len(ROLES)


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """The WSGI app closes the connection after each request; keep the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(make_staff, make_pair):
    make_pair("fuzz")
    return {role: make_staff(f"fuzz-{role}", role)[1] for role in ROLES}


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_operation_answers_5xx_or_breaks_its_schema_for_any_role(case, tokens):
    role = ROLES[next(_turns) % len(ROLES)]
    case.call_and_validate(
        headers={"Authorization": f"Token {tokens[role]}"},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
