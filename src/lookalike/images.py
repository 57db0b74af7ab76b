"""Safe image loading: every way a file can be hostile ends in an ImageError naming it, never a crash."""

from __future__ import annotations

import io
import os
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lookalike.errors import ImageError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"})
# The decoders Pillow may use: product photo formats only. Pillow opens dozens more (EPS would start
# Ghostscript when installed, some others are rarely exercised); a file in any other format is refused.
# JPEG covers phone-camera MPO files too (its opener returns them); TIFF carries 16-bit scans.
ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
DEFAULT_MAX_PIXELS = 50_000_000
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_BACKGROUND = (255, 255, 255)  # product shots on transparent backgrounds read as on white


def load_image(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Image.Image:
    """Decode `source` (a path or raw bytes) into an upright 8-bit RGB image.

    The pixel limit is checked from the header, before any pixel is decoded, so a few-KB
    decompression bomb costs nothing. Whatever a decoder raises on a malformed file ends as an
    ImageError: Pillow's plugins raise far more than OSError on fuzzed input (TypeError, IndexError…).
    """
    label = name or (str(source) if not isinstance(source, bytes) else "uploaded image")
    data = _read_bytes(source, label, max_bytes)
    if not data:
        raise ImageError(f"{label}: the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # decoder chatter on malformed metadata
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
            width, height = img.size
            if width < 1 or height < 1:
                raise ImageError(f"{label}: the image has no pixels ({width}×{height})")
            if width * height > max_pixels:
                raise ImageError(
                    f"{label}: {width}×{height} pixels is over the limit of {max_pixels:,} "
                    "(set LOOKALIKE_MAX_IMAGE_PIXELS to allow larger images)"
                )
            if getattr(img, "is_animated", False):
                img.seek(0)  # the first frame stands for an animated GIF/WebP
            img.load()
            img = _upright(img)
            return to_rgb(img)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"{label}: not an image Pillow can read (png, jpg, webp, gif, bmp)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(
            f"{label}: refused as a decompression bomb (pixel count over the limit of {max_pixels:,})"
        ) from None
    except MemoryError:
        raise ImageError(f"{label}: the image is too large to decode in the memory available") from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure means a file we cannot use
        raise ImageError(f"{label}: the image is corrupt or truncated ({_why(exc)})") from None


def _why(exc: Exception) -> str:
    """A short reason for the message; the decoder's own words when it has any."""
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"


def _read_bytes(source: str | Path | bytes, label: str, max_bytes: int) -> bytes:
    if isinstance(source, bytes):
        if len(source) > max_bytes:
            raise ImageError(f"{label}: {len(source):,} bytes is over the limit of {max_bytes:,}")
        return source
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever. The type
        # is checked on the opened descriptor (no race with a swap after a stat); regular files ignore
        # the flag, so reads below are ordinary blocking reads.
        fd = os.open(Path(source), os.O_RDONLY | _O_NONBLOCK | _O_BINARY)
    except FileNotFoundError:
        raise ImageError(f"{label}: the file does not exist (moved or deleted?)") from None
    except IsADirectoryError:
        raise ImageError(f"{label}: is a folder, not an image file") from None
    except PermissionError:
        raise ImageError(f"{label}: permission denied when reading the file") from None
    except OSError as exc:
        raise ImageError(f"{label}: cannot be read ({exc.strerror or exc})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ImageError(f"{label}: is a folder, not an image file")
        if not stat.S_ISREG(st.st_mode):  # FIFO, device, socket: may block or never end
            kind = _file_kind(st.st_mode)
            raise ImageError(f"{label}: is not a regular file but {kind}; give an image file")
        if st.st_size > max_bytes:
            raise ImageError(f"{label}: {st.st_size:,} bytes is over the limit of {max_bytes:,}")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ImageError(f"{label}: cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # the file grew between stat and read
        raise ImageError(f"{label}: more than {max_bytes:,} bytes, over the limit")
    return data


_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # POSIX only; Windows has no FIFOs to open
_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows only


def _file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "a special file"


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a broken EXIF block leaves the image as stored."""
    try:
        return ImageOps.exif_transpose(img) or img
    except Exception:  # noqa: BLE001 - malformed EXIF must not lose a product photo
        return img


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode as 8-bit RGB: 16-bit/float scaled to their range, transparency flattened on white."""
    if img.mode == "RGB":
        return img
    if img.mode == "La":  # premultiplied grey+alpha: Pillow converts it to LA only
        img = img.convert("LA")
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float32)  # float32: a 50-Mpixel scan stays at 200 MB here
        top = 65535.0 if img.mode.startswith("I;16") else max(float(np.nanmax(arr, initial=0.0)), 1.0)
        arr = np.clip(np.nan_to_num(arr) / top * 255.0, 0, 255).astype(np.uint8)
        img = Image.fromarray(arr, mode="L")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, _BACKGROUND)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if img.mode != "RGB":
        img = img.convert("RGB")
    return img
