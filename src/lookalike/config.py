"""Settings: LOOKALIKE_* environment variables, an optional TOML file, then defaults, in that order."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _config_file() -> Path:
    """The TOML file: LOOKALIKE_CONFIG, else ./lookalike.toml (absent files are simply skipped)."""
    return Path(os.environ.get("LOOKALIKE_CONFIG", "lookalike.toml"))


API_KEY_RULE = (
    "LOOKALIKE_API_KEY must be printable ASCII (letters, digits, punctuation, no spaces at either end): "
    "an HTTP header cannot carry other characters, so no client could ever present it"
)


def is_header_safe(key: str) -> bool:
    return key == key.strip() and all(" " <= ch <= "~" for ch in key)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOKALIKE_", extra="ignore")

    data_dir: Path = Field(
        default_factory=lambda: Path(user_data_dir("lookalike", appauthor=False)),
        description="Where the embedded Qdrant store and caches live.",
    )
    qdrant_url: str | None = Field(None, description="Qdrant server/cluster URL; unset = embedded store.")
    qdrant_api_key: SecretStr | None = None
    qdrant_timeout: float = Field(10.0, gt=0, description="Seconds per request to a Qdrant server.")
    collection: str = Field("products", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    encoder: str = "efficientnet-lite0"
    batch_size: int = Field(16, ge=1, le=1024)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int | None = Field(None, ge=1, description="CPU threads for the encoder; unset = all cores.")
    runtime: Literal["auto", "onnx", "torch"] = Field(
        "auto",
        description="What runs the image model on CPU: 'onnx' (ONNX Runtime; the graph is exported once per "
        "weights file into model_dir and checked against torch), 'torch', or 'auto' = onnx when it works, "
        "else torch with a warning.",
    )
    model_dir: Path | None = Field(
        None, description="Cache of exported model graphs; unset = data_dir/models."
    )

    category_from: Literal["path", "top", "parent"] = Field(
        "path",
        description="Category of an image: 'path' = every folder under the catalog root joined by "
        "category_separator, 'top' = the first folder only, 'parent' = the folder holding the file.",
    )
    category_separator: str = " / "
    uncategorized: str = "Uncategorized"

    api_key: SecretStr | None = Field(None, description="Key for the API's write endpoints (X-API-Key).")
    read_api_key: SecretStr | None = Field(
        None,
        description="A key for searching and browsing only (X-API-Key), when public_reads is off: the key a "
        "storefront page (the /widget.js widget) carries, readable by anyone, so it can never write.",
    )
    max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1, description="Largest upload the API/UI accept.")
    public_reads: bool = Field(
        True, description="Searching and browsing through the API need no key; False: they need api_key too."
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Web origins allowed to call the API from a browser (JSON list, e.g. ["https://shop.example"]);'
        " empty = CORS off.",
    )
    request_timeout: float = Field(
        30.0, gt=0, description="Seconds an API search may take before it is answered 503 (server busy)."
    )
    max_concurrent_searches: int = Field(
        4, ge=1, description="API searches computed at once; more wait (within request_timeout) for a turn."
    )
    max_concurrent_writes: int = Field(
        1,
        ge=1,
        description="API uploads/deletes processed at once; more wait (within request_timeout), then 503.",
    )
    max_upload_pixels: int = Field(
        100_000_000,
        ge=1,
        description="Total pixels the images of one upload request may hold (decoded a few at a time).",
    )

    max_image_pixels: int = Field(50_000_000, ge=1, description="Refuse larger images (decompression bombs).")
    max_image_bytes: int = Field(50 * 1024 * 1024, ge=1, description="Refuse larger image files.")

    fetch_allow: list[str] = Field(
        default_factory=list,
        description="Hosts or networks URL fetches may reach even when private (JSON list, e.g. "
        '["10.1.2.3", "images.shop.internal", "127.0.0.1:8080", "192.168.0.0/16"]); each may end in :port.',
    )
    fetch_max_bytes: int = Field(20 * 1024 * 1024, ge=1, description="Largest image a URL fetch downloads.")
    fetch_max_feed_bytes: int = Field(200 * 1024 * 1024, ge=1, description="Largest feed file downloaded.")
    fetch_connect_timeout: float = Field(5.0, gt=0, description="Seconds to open a connection for a fetch.")
    fetch_read_timeout: float = Field(10.0, gt=0, description="Seconds a fetch waits for the next bytes.")
    fetch_total_timeout: float = Field(
        60.0, gt=0, description="Seconds one fetch may take in all (redirects, retries and backoff included)."
    )
    fetch_max_redirects: int = Field(5, ge=0, le=20, description="Redirects a fetch follows.")
    fetch_retries: int = Field(2, ge=0, le=10, description="Retries after a 5xx, a timeout or a reset.")
    fetch_backoff: float = Field(0.5, ge=0, description="Seconds before the first retry; doubles each time.")
    fetch_concurrency: int = Field(8, ge=1, le=64, description="Downloads at once (feed imports).")
    max_batch: int = Field(32, ge=1, le=256, description="Image queries one POST /search/batch may hold.")

    hnsw_m: int = Field(16, ge=4, le=128)
    hnsw_ef_construct: int = Field(128, ge=8, le=1024)
    search_ef: int = Field(128, ge=8, le=4096)
    quantization: Literal["none", "int8"] = Field(
        "int8",
        description="int8: scalar-quantized copies of the vectors in RAM for search (a quarter of the "
        "float size), rescored with the float originals; none: search the floats. Fixed when a collection "
        "is created.",
    )
    oversampling: float = Field(
        2.0, ge=1.0, le=16.0, description="int8 candidates per result rescored with the float originals."
    )
    vectors_on_disk: bool = Field(
        True,
        description="Keep the float vectors memory-mapped on disk instead of in RAM (with int8, searches "
        "only read them to rescore). Fixed when a collection is created.",
    )
    index_word_vectors: bool = Field(
        False,
        description="Build HNSW graphs for the word-route vectors (title, concepts, colour) too; off = "
        "exact scans of their int8 copies, no graph RAM or build time. Fixed when a collection is created.",
    )

    @field_validator("api_key", "read_api_key")
    @classmethod
    def _presentable_key(cls, key: SecretStr | None) -> SecretStr | None:
        """HTTP headers carry Latin-1 bytes, and clients send ASCII: any other key could never match."""
        if key is not None and not is_header_safe(key.get_secret_value()):
            raise ValueError(API_KEY_RULE)
        return key

    @field_validator("fetch_allow")
    @classmethod
    def _allow_entries(cls, entries: list[str]) -> list[str]:
        """Each entry must parse now, not at the first fetch."""
        from lookalike.fetch.guard import parse_allowed

        for entry in entries:
            parse_allowed(entry)
        return entries

    @property
    def models_dir(self) -> Path:
        return self.model_dir if self.model_dir is not None else self.data_dir / "models"

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "qdrant" / self.collection

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml)
