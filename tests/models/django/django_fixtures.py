#!/usr/bin/python3
"""Django's side of tocsin's natural-key fixture round trip (tests/models/django_fixtures_test.cpp).

The app "nk" below has the same models as the C++ test: Person (a natural key: its name), Book
(two keys and a many-to-many to Person), Event (a natural key) and Talk (extends Event). Each
command works on a fresh in-memory SQLite database:

    django_fixtures.py check              exits 0 when Django can be imported
    django_fixtures.py create OUT         creates the test's rows, dumps them to OUT
    django_fixtures.py reload IN OUT      loads IN (loaddata), dumps the result to OUT

Dumps are `dumpdata nk --natural-foreign --natural-primary --indent 2`.
Django 3.2 from Debian's python3-django.
"""

import os
import sys


def setup():
    import django
    from django.apps import AppConfig
    from django.conf import settings

    class NkConfig(AppConfig):
        name = "__main__"
        label = "nk"
        default_auto_field = "django.db.models.AutoField"

    sys.modules["__main__"].NkConfig = NkConfig
    settings.configure(
        DEBUG=False,
        INSTALLED_APPS=["__main__.NkConfig"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        USE_TZ=True,
    )
    django.setup()

    from django.db import connection, models

    class PersonManager(models.Manager):
        def get_by_natural_key(self, name):
            return self.get(name=name)

    class Person(models.Model):
        name = models.CharField(max_length=100, unique=True)
        born = models.IntegerField(default=0)
        objects = PersonManager()

        class Meta:
            app_label = "nk"

        def natural_key(self):
            return (self.name,)

    class Book(models.Model):
        title = models.CharField(max_length=100)
        author = models.ForeignKey(Person, models.CASCADE, related_name="books")
        editor = models.ForeignKey(Person, models.SET_NULL, null=True, related_name="edited")
        readers = models.ManyToManyField(Person, related_name="read")

        class Meta:
            app_label = "nk"

    class EventManager(models.Manager):
        def get_by_natural_key(self, name):
            return self.get(name=name)

    class Event(models.Model):
        name = models.CharField(max_length=100, unique=True)
        objects = EventManager()

        class Meta:
            app_label = "nk"

        def natural_key(self):
            return (self.name,)

    class Talk(Event):
        room = models.CharField(max_length=100)

        class Meta:
            app_label = "nk"

    # dumpdata skips an app without a models module: the models are in this script.
    from django.apps import apps

    apps.get_app_config("nk").models_module = sys.modules[__name__]
    with connection.schema_editor() as editor:
        for model in (Person, Book, Event, Talk):
            editor.create_model(model)
    return Person, Book, Event, Talk


def dump(path):
    from django.core.management import call_command

    call_command("dumpdata", "nk", use_natural_foreign_keys=True, use_natural_primary_keys=True,
                 indent=2, output=path, verbosity=0)


def main(argv):
    if len(argv) >= 2 and argv[1] == "check":
        try:
            import django  # noqa: F401
        except ImportError:
            return 3
        return 0
    if len(argv) == 3 and argv[1] == "create":
        Person, Book, Event, Talk = setup()
        ann = Person.objects.create(name="Ann", born=1950)
        bob = Person.objects.create(name="Bob Ö")
        emma = Book.objects.create(title="Emma", author=ann)
        emma.readers.set([ann, bob])
        Book.objects.create(title="Dune", author=bob, editor=ann)
        Event.objects.create(name="kickoff")
        Talk.objects.create(name="keynote", room="A")
        dump(argv[2])
        return 0
    if len(argv) == 4 and argv[1] == "reload":
        setup()
        from django.core.management import call_command

        call_command("loaddata", os.path.abspath(argv[2]), verbosity=0)
        dump(argv[3])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
