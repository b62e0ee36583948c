"""gunicorn settings for the Procfile's web process and the container (all from the environment)."""

import multiprocessing
import os
import shutil
import tempfile

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# Heroku sets WEB_CONCURRENCY from the dyno size; elsewhere two per core is a sane start.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak never takes a dyno down.
max_requests = 2000
max_requests_jitter = 200
# Load the app once in the master: a recycled worker is then a fork that serves at once, not
# ~1 s of CPU importing Django while its requests wait. Django and the Stripe client open their
# connections lazily, so nothing opened before the fork is shared between workers.
preload_app = True
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
# Reset and verification tokens ride in query strings, pay-page keys in paths: never logged.
logger_class = "bookstore.access_log.RedactingLogger"
# The router in front (Heroku's, or the container platform's) is the only client that reaches us.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")

# Prometheus metrics (bookstore/metrics.py) from every worker: each worker writes its counters to
# files in this folder and a scrape sums them. It must be set before the app (and so
# prometheus_client) is loaded, and hold nothing from an earlier run; a dead worker's files stay
# (its counts still count) until the next start.
_metrics_folder_is_ours = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _metrics_folder_is_ours:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bookstore-metrics-")


def on_starting(server):
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".db") and not name.endswith(f"_{os.getpid()}.db"):
            os.remove(os.path.join(folder, name))


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _metrics_folder_is_ours:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
