"""moto_server with the S3 replies aws-sdk-s3 cannot read fixed, for tests only.

moto 5.x serialises GetBucketVersioning, GetBucketAccelerateConfiguration and
GetBucketNotificationConfiguration under an `<{Action}Response>` root; S3 (and the Rust SDK, which
checks the root) uses `<VersioningConfiguration>`, `<AccelerateConfiguration>` and
`<NotificationConfiguration>`. This wraps the three handlers to rename the root, then runs moto's
own server entry point with the same arguments (`-H 127.0.0.1 -p PORT`).

It also makes DynamoDB's writes atomic, as they are in AWS: moto serves requests on threads and
checks a ConditionExpression and then writes without a lock, so two concurrent conditional puts
on one key could both succeed (seen once in the claim-race contract test). One lock around the
write operations closes that window.
"""

import functools
import re
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.s3.responses import S3Response
from moto.server import main

ROOTS = {
    "get_bucket_versioning": "VersioningConfiguration",
    "get_bucket_accelerate_configuration": "AccelerateConfiguration",
    "get_bucket_notification_configuration": "NotificationConfiguration",
}


def with_root(method, root):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        reply = method(self, *args, **kwargs)
        if not (isinstance(reply, tuple) and len(reply) == 3):
            return reply
        status, headers, body = reply
        text = body.decode() if isinstance(body, bytes) else body
        if isinstance(text, str):
            # Rename the first element (the root) and its closing tag; keep its attributes.
            text = re.sub(r"<(\w+)(\s[^>]*)?>", lambda m: f"<{root}{m.group(2) or ''}>", text, count=1)
            text = re.sub(r"</\w+>\s*$", f"</{root}>", text, count=1)
            body = text.encode() if isinstance(body, bytes) else text
        return status, headers, body

    return wrapper


for name, root in ROOTS.items():
    if hasattr(S3Response, name):
        setattr(S3Response, name, with_root(getattr(S3Response, name), root))

DYNAMODB_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
DYNAMODB_LOCK = threading.RLock()


def serialised(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with DYNAMODB_LOCK:
            return method(self, *args, **kwargs)

    return wrapper


for name in DYNAMODB_WRITES:
    setattr(DynamoDBBackend, name, serialised(getattr(DynamoDBBackend, name)))

if __name__ == "__main__":
    sys.exit(main())
