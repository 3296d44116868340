#!/usr/bin/python3
"""Django's side of models_pg_bench: the seeds' workload on Django's ORM and PostgreSQL.

The same four phases as tocsin's and the libpq floor's, timed one by one:
  create   N users in one transaction.atomic(), a post_save receiver creating each Profile
  load     every user: list(User.objects.all())
  update   each user's email changed and saved with save(update_fields=["email"]), in one atomic()
  remove   User.objects.all().delete(): the profiles by cascade (Django's collector)
The tables (auth_user, accounts_profile: a unique username, a unique one-to-one key) are made
fresh by Django's schema editor before each repetition. Prints one line per repetition:
    repetition R: create=<s> load=<s> update=<s> remove=<s>
with the seconds of each phase, then their medians.

    /usr/bin/python3 bench/django_pg_workload.py --host H --port P --user U --dbname D [-n 10000]

Django 3.2 and psycopg2 from Debian (python3-django, python3-psycopg2). DEBUG is off.
"""

import argparse
import gc
import statistics
import sys
import time

import django
from django.apps import AppConfig
from django.conf import settings

PHASES = ("create", "load", "update", "remove")


class BenchConfig(AppConfig):
    """The app holding the two models: this script itself."""

    name = "__main__"
    label = "bench"
    default_auto_field = "django.db.models.AutoField"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", required=True)
    p.add_argument("--port", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", default="")
    p.add_argument("--dbname", required=True)
    p.add_argument("-n", "--users", type=int, default=10_000, help="users per repetition")
    p.add_argument("-r", "--repetitions", type=int, default=1)
    return p.parse_args()


def main():
    args = parse_args()
    settings.configure(
        DEBUG=False,
        INSTALLED_APPS=["__main__.BenchConfig"],
        DATABASES={"default": {"ENGINE": "django.db.backends.postgresql", "NAME": args.dbname,
                               "USER": args.user, "PASSWORD": args.password,
                               "HOST": args.host, "PORT": args.port}},
        USE_TZ=True,
    )
    django.setup()

    from django.db import connection, models, transaction
    from django.db.models.signals import post_save

    class User(models.Model):
        username = models.CharField(max_length=150, unique=True)
        email = models.CharField(max_length=254)
        is_staff = models.BooleanField(default=False)

        class Meta:
            app_label = "bench"
            db_table = "django_auth_user"

    class Profile(models.Model):
        user = models.OneToOneField(User, on_delete=models.CASCADE)
        bio = models.TextField(default="")

        class Meta:
            app_label = "bench"
            db_table = "django_accounts_profile"

    def create_profile(sender, instance, created, raw=False, **kwargs):
        if created and not raw:
            Profile.objects.create(user=instance)

    post_save.connect(create_profile, sender=User, dispatch_uid="bench.create_profile")

    def fresh_tables():
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS django_accounts_profile, django_auth_user CASCADE")
        with connection.schema_editor() as editor:
            editor.create_model(User)
            editor.create_model(Profile)

    n = args.users
    print(f"Django {django.get_version()}, psycopg2 {__import__('psycopg2').__version__}, "
          f"Python {sys.version.split()[0]}; {n} users per repetition")
    runs = {p: [] for p in PHASES}
    for rep in range(args.repetitions):
        fresh_tables()
        gc.collect()
        t = [time.perf_counter()]
        with transaction.atomic():
            for i in range(n):
                User.objects.create(username=f"user{i}", email=f"user{i}@example.com")
        t.append(time.perf_counter())
        users = list(User.objects.all())
        t.append(time.perf_counter())
        with transaction.atomic():
            for u in users:
                u.email = "new." + u.email
                u.save(update_fields=["email"])
        t.append(time.perf_counter())
        User.objects.all().delete()
        t.append(time.perf_counter())
        if len(users) != n or User.objects.count() != 0 or Profile.objects.count() != 0:
            sys.exit(f"the workload did not do its work ({len(users)} users loaded)")
        for i, p in enumerate(PHASES):
            runs[p].append(t[i + 1] - t[i])
        print(f"repetition {rep + 1}: " + " ".join(f"{p}={runs[p][-1]:.6f}" for p in PHASES))
    print("median: " + " ".join(f"{p}={statistics.median(runs[p]):.6f}" for p in PHASES))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS django_accounts_profile, django_auth_user CASCADE")
    connection.close()


if __name__ == "__main__":
    main()
