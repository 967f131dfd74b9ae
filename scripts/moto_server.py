"""The moto AWS emulator, with DynamoDB's item writes made atomic.

moto's threaded server checks a ConditionExpression and writes the item in two
steps, so two concurrent conditional writes can both succeed; DynamoDB itself
guarantees that exactly one does, and KCL's conformance kits check it (20
concurrent writers, one winner). One lock around moto's DynamoDB writes gives the
emulator the real service's semantics; every other service is unchanged.

    python moto_server.py -H 127.0.0.1 -p 5599
"""
import functools
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_lock = threading.RLock()


def _atomic(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _lock:
            return method(*args, **kwargs)

    return wrapper


for _name in ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item"):
    setattr(DynamoDBBackend, _name, _atomic(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    main()
