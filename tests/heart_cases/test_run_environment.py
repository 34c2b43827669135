"""`make run`: the processes it starts are told the site's address, so that the signed links
the worker emails name the port the web server is serving."""

from __future__ import annotations

from heart_cases.run import child_environment


def test_the_children_are_told_the_default_address():
    env = child_environment({"PATH": "/usr/bin"})
    assert env["HEART_BASE_URL"] == "http://127.0.0.1:8000"
    assert env["PATH"] == "/usr/bin"
    assert env["DJANGO_SETTINGS_MODULE"] == "heart_cases.settings"


def test_the_children_are_told_the_host_and_port_make_run_serves():
    env = child_environment({"HEART_HOST": "localhost", "HEART_PORT": "8123"})
    assert env["HEART_BASE_URL"] == "http://localhost:8123"
    assert (env["HEART_HOST"], env["HEART_PORT"]) == ("localhost", "8123")


def test_a_base_url_that_is_set_is_kept():
    env = child_environment(
        {"HEART_PORT": "8123", "HEART_BASE_URL": "https://navigation.example.org"}
    )
    assert env["HEART_BASE_URL"] == "https://navigation.example.org"


def test_an_empty_base_url_counts_as_unset():
    # settings.py would take "" as the base, and the emailed links would have no host.
    assert child_environment({"HEART_BASE_URL": ""})["HEART_BASE_URL"] == "http://127.0.0.1:8000"


def test_the_environment_it_was_given_is_left_alone():
    given = {"HEART_PORT": "9000"}
    child_environment(given)
    assert given == {"HEART_PORT": "9000"}
