"""The scheduler process (Procfile `clock`).

Every job is a management command of the app that owns the work, run by name, so this project
package imports no app. Each job is safe to run on several machines at once (row locks with
SKIP LOCKED, or idempotent deletes), so two clocks (a deploy's overlap, or a second dyno by
mistake) do no harm. A job that fails is logged with its name and traceback through logging
(so ADMINS mail and the error tracker see it), the other jobs keep running, and it is tried
again sooner than its interval: after FIRST_RETRY_SECONDS, then twice as long after each
failure in a row, never later than its interval (see `job_delay`).
"""

import logging
import signal
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections

logger = logging.getLogger("bookstore.jobs")

MINUTE = 60
HOUR = 60 * MINUTE

FIRST_RETRY_SECONDS = 10
TICK_SECONDS = 0.5


def jobs():
    """command -> every how many seconds."""
    return {
        "expire_orders": MINUTE,
        # A cheap poll (one indexed query, SKIP LOCKED): a reset or verification email reaches the
        # mail server a few seconds after its commit, not up to a minute later.
        "send_emails": settings.EMAIL_SEND_EVERY_SECONDS,
        # Every minute: a confirmed payment whose webhook was lost is settled after about a minute.
        "reconcile_payments": MINUTE,
        # Retention: small batches, hourly (see README "Keeping the database lean").
        "purge_idempotency_keys": HOUR,
        "purge_sent_emails": HOUR,
        "purge_webhook_triggers": HOUR,
        "release_closed_account_orders": HOUR,
        "purge_carts": HOUR,
    }


class Command(BaseCommand):
    help = (
        "The scheduler process (Procfile `clock`): send_emails every few seconds "
        "(EMAIL_SEND_EVERY_SECONDS), expire_orders and reconcile_payments every minute, the "
        "retention jobs every hour, until stopped; a job that fails is retried sooner, with "
        "backoff."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run every job once and exit")
        parser.add_argument(
            "--every",
            type=float,
            metavar="SECONDS",
            help="run every job at least this often (tests, the cluster proof); a job whose own "
            "interval is shorter keeps it",
        )

    def handle(self, *args, once=False, every=None, **options):
        self.stopping = False
        signal.signal(signal.SIGTERM, self._stop)
        intervals = jobs()
        if every:
            intervals = {job: min(every, interval) for job, interval in intervals.items()}
        next_run = dict.fromkeys(intervals, float("-inf"))
        failures = dict.fromkeys(intervals, 0)
        while not self.stopping:
            for job, interval in intervals.items():
                if self.stopping:
                    break
                if once or time.monotonic() >= next_run[job]:
                    finished = job_run(job, stdout=self.stdout, stderr=self.stderr)
                    failures[job] = 0 if finished else failures[job] + 1
                    delay = job_delay(interval=interval, failures=failures[job])
                    next_run[job] = time.monotonic() + delay
            if once:
                return
            time.sleep(min(TICK_SECONDS, *intervals.values()))

    def _stop(self, *args):
        self.stopping = True


def job_delay(*, interval, failures):
    """Seconds until a job runs again: its interval, or after `failures` failures in a row
    10 s, 20 s, 40 s ... but never longer than the interval."""
    if failures <= 0:
        return interval
    return min(interval, FIRST_RETRY_SECONDS * 2 ** (failures - 1))


def job_run(job, *, stdout=None, stderr=None):
    """Run one job; True if it finished. A failure is logged, never raised."""
    close_old_connections()
    try:
        call_command(job, stdout=stdout, stderr=stderr)
    except Exception:  # one failing job must not stop the others
        logger.exception("Job %s failed", job, extra={"job": job})
        return False
    finally:
        close_old_connections()
    return True
