"""manage.py crud PREFIX --wait SECONDS: ORM create/read/update/delete, then (with --wait) the same on a connection
opened after waiting SECONDS, once the credential of the first has expired. Prints one JSON line of what it saw."""
import json
import time
import uuid

from django.core.management.base import BaseCommand
from django.db import IntegrityError, connection, connections, transaction

from notes.models import Note


def crud(prefix: str) -> dict:
    title = f"{prefix}-{uuid.uuid4().hex[:8]}"
    note = Note.objects.create(title=title, body="héllo", stars=1)
    got = Note.objects.get(pk=note.pk)
    assert (got.title, got.body, got.stars) == (title, "héllo", 1) and got.created.tzinfo is not None
    Note.objects.filter(pk=note.pk).update(stars=5)
    got.refresh_from_db()
    assert got.stars == 5
    try:
        with transaction.atomic():
            Note.objects.create(title=title)
        raise AssertionError("a duplicate title was accepted")
    except IntegrityError:
        pass
    got.delete()
    assert not Note.objects.filter(title=title).exists()
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid(), current_user")
        pid, user = cur.fetchone()
    return {"pid": pid, "user": user}


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("prefix")
        parser.add_argument("--wait", type=float, default=0)

    def handle(self, *args, **options):
        seen = {"first": crud(options["prefix"]), "pooled": bool(connection.pool)}
        if options["wait"]:
            connection.close()  # returned to the pool, or closed
            if connection.pool:
                seen["opened_before"] = connection.pool.get_stats().get("connections_num", 0)
            time.sleep(options["wait"])
            seen["after"] = crud(options["prefix"])  # a new connection, or one of the pool's
            if connection.pool:  # three taken at once from a pool that has opened two at most: it opens one now
                others = [connections.create_connection("default") for _ in range(2)]
                seen["pids"] = [seen["after"]["pid"]]
                for other in others:
                    with other.cursor() as cur:
                        cur.execute("SELECT pg_backend_pid()")
                        seen["pids"].append(cur.fetchone()[0])
                for other in others:
                    other.close()
                seen["pool_stats"] = connection.pool.get_stats()
        connection.close()
        self.stdout.write(json.dumps(seen))
