"""The clock process: run_jobs runs every job, logs a failing one by name, and goes on."""

import logging
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bookstore.management.commands import run_jobs

pytestmark = pytest.mark.django_db

RUNNER = "bookstore.management.commands.run_jobs.call_command"


def test_once_runs_every_job_in_order(monkeypatch):
    ran = []
    monkeypatch.setattr(RUNNER, lambda name, **kwargs: ran.append(name))
    call_command("run_jobs", "--once", stdout=StringIO())
    assert ran == [
        "expire_orders",
        "send_emails",
        "reconcile_payments",
        "purge_idempotency_keys",
        "purge_sent_emails",
        "purge_webhook_triggers",
        "purge_carts",
    ]


@pytest.mark.django_db(transaction=True)  # the runner closes connections between jobs
def test_every_job_is_a_real_command_that_runs():
    # No fake: each job exists and succeeds on an empty shop (Stripe is not asked: no payments).
    for job in run_jobs.JOBS:
        assert run_jobs.job_run(job, stdout=StringIO(), stderr=StringIO()), job


def test_a_failing_job_is_logged_with_its_name_and_the_others_still_run(monkeypatch, caplog):
    ran = []

    def fake_call_command(name, **kwargs):
        ran.append(name)
        if name == "send_emails":
            raise RuntimeError("mail server on fire")
        if name == "reconcile_payments":
            raise CommandError("Stripe unreachable")

    monkeypatch.setattr(RUNNER, fake_call_command)
    with caplog.at_level(logging.ERROR, logger="bookstore.jobs"):
        call_command("run_jobs", "--once", stdout=StringIO(), stderr=StringIO())

    assert ran == list(run_jobs.JOBS)  # nothing skipped after the failures
    failures = [r for r in caplog.records if r.name == "bookstore.jobs"]
    assert [r.getMessage() for r in failures] == [
        "Job send_emails failed",
        "Job reconcile_payments failed",
    ]
    assert [r.job for r in failures] == ["send_emails", "reconcile_payments"]
    # logger.exception: the traceback travels with the record (ADMINS mail, the error tracker).
    assert failures[0].exc_info[1].args == ("mail server on fire",)
    assert all(r.levelno == logging.ERROR for r in failures)


def test_the_job_runner_lives_in_the_project_package():
    from django.core.management import get_commands

    assert get_commands()["run_jobs"] == "bookstore"
