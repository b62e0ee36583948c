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
        "release_closed_account_orders",
        "purge_carts",
    ]


@pytest.mark.django_db(transaction=True)  # the runner closes connections between jobs
def test_every_job_is_a_real_command_that_runs():
    # No fake: each job exists and succeeds on an empty shop (Stripe is not asked: no payments).
    for job in run_jobs.jobs():
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

    assert ran == list(run_jobs.jobs())  # nothing skipped after the failures
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


def test_a_failing_job_is_retried_sooner_with_backoff_then_keeps_its_interval(monkeypatch):
    clock = {"now": 1000.0}
    ran = []
    failing = {"purge_sent_emails": 3}  # fails three times in a row, then works

    def fake_call_command(name, **kwargs):
        ran.append((name, clock["now"] - 1000.0))
        if failing.get(name):
            failing[name] -= 1
            raise RuntimeError("database busy")

    def fake_sleep(seconds):
        clock["now"] += seconds
        if clock["now"] - 1000.0 > 2 * run_jobs.HOUR:
            command.stopping = True

    command = run_jobs.Command(stdout=StringIO(), stderr=StringIO())
    monkeypatch.setattr(RUNNER, fake_call_command)
    monkeypatch.setattr(run_jobs.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(run_jobs.time, "sleep", fake_sleep)
    monkeypatch.setattr(run_jobs.signal, "signal", lambda *args: None)
    command.handle(once=False, every=None)

    purges = [at for name, at in ran if name == "purge_sent_emails"]
    # 10 s, 20 s, 40 s after each failure; then hourly again.
    assert purges == [0, 10, 30, 70, 70 + run_jobs.HOUR]
    # A confirmed payment whose webhook was lost waits about a minute, not five.
    reconciles = [at for name, at in ran if name == "reconcile_payments"]
    assert reconciles[:3] == [0, 60, 120]


def test_job_delay_backs_off_up_to_the_interval():
    assert [run_jobs.job_delay(interval=60, failures=n) for n in range(5)] == [60, 10, 20, 40, 60]


def test_emails_go_out_every_few_seconds_and_every_never_slows_a_job(monkeypatch, settings):
    settings.EMAIL_SEND_EVERY_SECONDS = 2
    clock = {"now": 1000.0}
    ran = []

    def fake_sleep(seconds):
        clock["now"] += seconds
        if clock["now"] - 1000.0 >= 10:
            command.stopping = True

    command = run_jobs.Command(stdout=StringIO(), stderr=StringIO())
    monkeypatch.setattr(RUNNER, lambda name, **kwargs: ran.append((name, clock["now"] - 1000.0)))
    monkeypatch.setattr(run_jobs.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(run_jobs.time, "sleep", fake_sleep)
    monkeypatch.setattr(run_jobs.signal, "signal", lambda *args: None)
    command.handle(once=False, every=5)

    sends = [at for name, at in ran if name == "send_emails"]
    assert sends == [0, 2, 4, 6, 8]  # its own 2 s, not the slower --every
    assert [at for name, at in ran if name == "expire_orders"] == [0, 5]  # --every 5
