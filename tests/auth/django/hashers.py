"""Django 3.2's password hashers for tests/auth/django_hashers_test.cpp (Debian python3-django).

    hashers.py check                 exit 0 when Django can be imported
    hashers.py check-argon2          exit 0 when Django's argon2 hasher can run (python3-argon2)
    hashers.py make <in> <out>       each line of <in> "<algorithm> <password as hex>": the line
                                     "<encoded>" made by Django's make_password (Django's own
                                     iteration count and a fresh salt; argon2: Django's costs,
                                     the password decoded as UTF-8, as Django's argon2 needs str)
    hashers.py verify <in> <out>     each line of <in> "<password as hex> <encoded>": "1" when
                                     Django's check_password accepts it, else "0"

Passwords travel as hex so that any bytes (not UTF-8, NUL) reach Django unchanged, as bytes.
"""
import sys

import django
from django.conf import settings

settings.configure(
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    ],
)
django.setup()

from django.contrib.auth.hashers import check_password, make_password  # noqa: E402


def lines(path):
    with open(path, encoding="ascii") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def main(argv):
    if argv[1] == "check":
        return 0
    if argv[1] == "check-argon2":
        import argon2  # noqa: F401  (python3-argon2)
        return 0
    source, target = argv[2], argv[3]
    out = []
    if argv[1] == "make":
        for line in lines(source):
            algorithm, _, hexed = line.partition(" ")
            password = bytes.fromhex(hexed)
            if algorithm == "argon2":
                password = password.decode("utf-8")
            out.append(make_password(password, hasher=algorithm))
    elif argv[1] == "verify":
        for line in lines(source):
            hexed, _, encoded = line.partition(" ")
            out.append("1" if check_password(bytes.fromhex(hexed), encoded) else "0")
    else:
        print("unknown command " + argv[1], file=sys.stderr)
        return 2
    with open(target, "w", encoding="ascii") as f:
        f.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
