"""One error family whose messages a shop owner can act on; front ends print them without a traceback."""


class LookalikeError(Exception):
    """Base of every error lookalike raises on purpose."""


class ImageError(LookalikeError):
    """An image that cannot be read safely (corrupt, unsupported, too large)."""


class CatalogError(LookalikeError):
    """A catalog folder that cannot be indexed (missing, empty, bad sidecar)."""


class FeedError(CatalogError):
    """A product feed that cannot be read at all (unknown format, malformed or hostile XML, no products)."""


class EncoderError(LookalikeError):
    """An encoder that cannot be loaded or asked for something it does not do."""


class UnsupportedModalityError(EncoderError):
    """The encoder cannot embed this kind of query (e.g. audio with an image-only model)."""


class StoreError(LookalikeError):
    """The vector store failed or refused (unreachable, locked, incompatible)."""


class StoreInUseError(StoreError):
    """The embedded store is opened by another process."""


class SchemaMismatchError(StoreError):
    """The collection was built by another encoder or with another dimension."""


class NotFoundError(LookalikeError):
    """A product or category that is not in the index."""


class UploadTooLargeError(LookalikeError):
    """An upload over a size bound (e.g. the total pixels of one request): send less at a time."""


class ChangedOnDiskError(LookalikeError):
    """An indexed file that is no longer the file that was indexed (edited, or swapped for a link)."""
