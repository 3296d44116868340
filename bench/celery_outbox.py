#!/usr/bin/python3
"""Celery's side of outbox_bench: the same job done the way Django shops do it.

N events: an Item saved in transactions of 100, each followed by
transaction.on_commit(lambda: apply_effect.delay(item.id)); a Celery 5.2 worker (Redis broker)
runs apply_effect, which inserts the one-row Effect with Django's ORM on the same PostgreSQL
database. The worker is started and ready before the first event; the time is from the first
produced event until the last Effect exists (end to end, produce and consume overlapping), as
outbox_bench's "end to end, worker running" figure. Prints one line per repetition and the
median:
    celery: N events, W worker processes: end to end <events/s> (produce <events/s>)

    /usr/bin/python3 bench/celery_outbox.py --host H --port P --user U --dbname D \
        [-n 5000] [-w 1] [-r 1]

Debian's python3-celery 5.2, python3-redis, python3-django 3.2, python3-psycopg2 and
redis-server (started here on a free port, without persistence, and stopped at the end): a
benchmark dependency only.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def configure_django():
    """Django on the database named by CELERY_BENCH_DB (host:port:user:dbname)."""
    import django
    from django.conf import settings

    host, port, user, dbname = os.environ["CELERY_BENCH_DB"].split(":")
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            INSTALLED_APPS=["celery_outbox_models"],
            DATABASES={"default": {"ENGINE": "django.db.backends.postgresql", "NAME": dbname,
                                   "USER": user, "HOST": host, "PORT": port}},
            USE_TZ=True,
            DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        )
        django.setup()


def make_celery():
    from celery import Celery

    app = Celery("celery_outbox", broker=os.environ["CELERY_BENCH_BROKER"])
    app.conf.update(task_ignore_result=True, worker_prefetch_multiplier=16,
                    task_acks_late=False, broker_connection_retry_on_startup=True)

    @app.task(name="celery_outbox.apply_effect")
    def apply_effect(item_id):
        from celery_outbox_models.models import Effect

        Effect.objects.create(item=item_id)

    return app, apply_effect


if os.environ.get("CELERY_BENCH_DB"):  # imported by the worker (celery -A celery_outbox)
    sys.path.insert(0, HERE)
    configure_django()
    app, apply_effect = make_celery()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", required=True)
    p.add_argument("--port", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--dbname", required=True)
    p.add_argument("-n", "--events", type=int, default=5000)
    p.add_argument("-w", "--workers", type=int, default=1, help="worker processes (prefork)")
    p.add_argument("-r", "--repetitions", type=int, default=1)
    args = p.parse_args()

    redis_port = free_port()
    redis_dir = tempfile.mkdtemp(prefix="tocsin-celery-redis-")
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", redis_dir],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = dict(os.environ)
    env["CELERY_BENCH_DB"] = ":".join([args.host, args.port, args.user, args.dbname])
    env["CELERY_BENCH_BROKER"] = "redis://127.0.0.1:%d/0" % redis_port
    env["PYTHONPATH"] = HERE + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONWARNINGS"] = "ignore"  # Celery's warning about running as root
    os.environ.update(env)
    sys.path.insert(0, HERE)
    configure_django()
    global app, apply_effect
    app, apply_effect = make_celery()

    from django.db import connection, transaction
    from celery_outbox_models.models import Effect, Item

    with connection.schema_editor() as editor:
        for model in (Effect, Item):
            editor.execute("DROP TABLE IF EXISTS %s CASCADE" % model._meta.db_table)
        editor.create_model(Item)
        editor.create_model(Effect)

    rates = []
    produce_rates = []
    try:
        for _ in range(args.repetitions):
            Effect.objects.all().delete()
            worker = subprocess.Popen(
                ["/usr/bin/python3", "-m", "celery", "-A", "celery_outbox", "worker",
                 "--concurrency", str(args.workers), "--pool", "prefork", "--loglevel", "WARNING",
                 "--without-gossip", "--without-mingle", "--without-heartbeat"],
                cwd=HERE, env=env, stdout=subprocess.DEVNULL)
            try:
                deadline = time.time() + 60
                while not app.control.ping(timeout=0.5):
                    if time.time() > deadline:
                        raise RuntimeError("the Celery worker did not start")
                start = time.perf_counter()
                done = 0
                while done < args.events:
                    with transaction.atomic():
                        for _ in range(min(100, args.events - done)):
                            item = Item.objects.create(seq=done)
                            transaction.on_commit(lambda pk=item.pk: apply_effect.delay(pk))
                            done += 1
                produced = time.perf_counter() - start
                while Effect.objects.count() < args.events:
                    time.sleep(0.01)
                    if time.perf_counter() - start > 600:
                        raise RuntimeError("the Celery worker did not finish")
                took = time.perf_counter() - start
            finally:
                worker.terminate()
                worker.wait()
            rates.append(args.events / took)
            produce_rates.append(args.events / produced)
            print("repetition: end to end %.0f events/s (produce %.0f events/s)"
                  % (rates[-1], produce_rates[-1]), flush=True)
            Item.objects.all().delete()
        print("celery: %d events, %d worker process%s: end to end %.0f events/s (produce %.0f "
              "events/s)" % (args.events, args.workers, "" if args.workers == 1 else "es",
                             statistics.median(rates), statistics.median(produce_rates)))
    finally:
        redis.terminate()
        redis.wait()


if __name__ == "__main__":
    main()
