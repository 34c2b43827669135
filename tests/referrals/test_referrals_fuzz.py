"""Schemathesis drives the referral endpoints from the OpenAPI schema: no input, however
malformed, yields a 5xx, and every answer is one the schema lists. Bounded in examples."""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from heart_cases.wsgi import application

_schema_document = json.loads(
    OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True))
)
schema = schemathesis.openapi.from_dict(_schema_document)
schema.app = application

referral_endpoints = schema.include(path_regex=r"^/api/v1/(referrals|providers|consents)/")


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """The WSGI app closes the database connection after each request, which would end the
    test's transaction; Django's own test client avoids that the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_tokens(make_staff):
    """The two sides: a navigator (creates, cancels) and provider staff (answers)."""
    return {
        "navigator": make_staff("fuzz-nav", "clinician")[1],
        "provider": make_staff("fuzz-provider", "provider")[1],
    }


@pytest.mark.django_db
@referral_endpoints.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.parametrize("who", ["navigator", "provider"])
def test_referral_endpoints_never_answer_5xx(case, fuzz_tokens, who):
    case.call_and_validate(
        headers={"Authorization": f"Token {fuzz_tokens[who]}"},
        checks=[not_a_server_error, status_code_conformance],
    )
