"""Safe loading: a hostile file ends in an ImageError naming it; an odd but valid image loads as RGB."""

from __future__ import annotations

import io
import os
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lookalike.errors import ImageError
from lookalike.images import load_image, to_rgb
from lookalike.words import colours


def _png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming width×height pixels, with a tiny (compressed) body."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    body = zlib.compress(row * 16, 9)  # only a few rows: the header alone must be enough to refuse it
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"this is a text file, not a photo\n", "not an image"),
        (b"<!doctype html><html><body>hi</body></html>", "not an image"),
    ],
)
def test_non_images_are_refused_with_the_file_name(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "shoe.jpg"
    path.write_bytes(data)
    with pytest.raises(ImageError, match=message) as exc:
        load_image(path)
    assert "shoe.jpg" in str(exc.value)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_images_are_refused(tmp_path: Path, fmt: str) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(
        buf, format=fmt
    )
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageError, match="corrupt or truncated"):
        load_image(path)


def test_decompression_bomb_is_refused_from_the_header() -> None:
    data = _bomb_png(30_000, 30_000)
    assert len(data) < 10_000
    with pytest.raises(ImageError, match="over the limit"):
        load_image(data, name="bomb.png")


def test_pixel_and_byte_limits_are_configurable() -> None:
    data = _png_bytes(Image.new("RGB", (100, 100)))
    with pytest.raises(ImageError, match="pixels is over the limit of 5,000"):
        load_image(data, max_pixels=5_000)
    with pytest.raises(ImageError, match="bytes is over the limit"):
        load_image(data, max_bytes=10)


def test_missing_file_and_folder_get_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="does not exist"):
        load_image(tmp_path / "gone.png")
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Image.new("RGBA", (8, 8), (255, 0, 0, 0)),
        lambda: Image.new("P", (8, 8)),
        lambda: Image.new("L", (8, 8), 128),
        lambda: Image.new("LA", (8, 8)),
        lambda: Image.new("1", (8, 8)),
        lambda: Image.new("CMYK", (8, 8), (0, 255, 0, 0)),
        lambda: Image.new("I;16", (8, 8), 40000),
        lambda: Image.new("RGB", (1, 1)),
        lambda: Image.new("RGB", (2000, 5)),
    ],
)
def test_odd_modes_and_shapes_load_as_rgb(make) -> None:
    img = make()
    fmt = "JPEG" if img.mode == "CMYK" else ("TIFF" if img.mode == "I;16" else "PNG")
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    out = load_image(buf.getvalue())
    assert out.mode == "RGB"
    assert out.size == img.size


def test_transparent_background_becomes_white() -> None:
    out = load_image(_png_bytes(Image.new("RGBA", (4, 4), (255, 0, 0, 0))))
    assert out.getpixel((0, 0)) == (255, 255, 255)


def test_sixteen_bit_grey_keeps_its_brightness() -> None:
    out = load_image(_png_bytes(Image.new("I;16", (4, 4), 65535)))
    assert out.getpixel((0, 0)) == (255, 255, 255)


def test_exif_orientation_is_applied() -> None:
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    assert load_image(buf.getvalue()).size == (20, 40)


def test_broken_exif_orientation_leaves_the_image_usable() -> None:
    img = Image.new("RGB", (40, 20))
    exif = Image.Exif()
    exif[0x0112] = 99  # not a valid orientation
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    assert load_image(buf.getvalue()).size == (40, 20)


def test_animated_gif_uses_the_first_frame() -> None:
    frames = [Image.new("RGB", (10, 10), c) for c in [(255, 0, 0), (0, 255, 0)]]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    out = load_image(buf.getvalue())
    r, g, _ = out.getpixel((5, 5))
    assert r > 200 and g < 50


def test_valid_image_with_a_wrong_extension_loads(tmp_path: Path) -> None:
    path = tmp_path / "really-a-png.jpg"
    path.write_bytes(_png_bytes(Image.new("RGB", (5, 5), (1, 2, 3))))
    assert load_image(path).getpixel((0, 0)) == (1, 2, 3)


def _bounded(call, seconds: float = 30.0):
    """Run `call` in a thread and give up after `seconds`: a regression fails the test, not the run."""
    result: dict[str, object] = {}

    def target() -> None:
        try:
            result["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still blocked after {seconds}s"
    return result


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "photo.png"
    os.mkfifo(fifo)  # nobody ever writes: opening it for reading the usual way waits forever
    result = _bounded(lambda: load_image(fifo))
    error = result.get("error")
    assert isinstance(error, ImageError), result
    assert "photo.png: is not a regular file but a named pipe" in str(error)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_device_is_refused_not_read() -> None:
    """/dev/zero never ends; /dev/null is empty: both are not files to read an image from."""
    for device in ("/dev/zero", "/dev/null"):
        error = _bounded(lambda d=device: load_image(d)).get("error")
        assert isinstance(error, ImageError) and "not a regular file but a character device" in str(error)


ODD_MODES = ["1", "L", "P", "LA", "La", "PA", "RGBA", "RGBa", "CMYK", "YCbCr", "I;16", "I;16B", "I", "F"]
ODD_SHAPES = [(1, 1), (1, 2), (2, 1), (1, 1000), (1000, 1), (2, 50_000), (50_000, 2)]


@pytest.mark.parametrize("mode", ODD_MODES)
def test_every_mode_and_shape_becomes_rgb_and_gets_a_colour_histogram(mode: str) -> None:
    for size in ODD_SHAPES:
        img = Image.new(mode, size)
        rgb = to_rgb(img)
        assert (rgb.mode, rgb.size) == ("RGB", size)
        hist = colours.histogram(img)
        assert hist.shape == (len(colours.COLOURS),) and np.isfinite(hist).all()
        assert abs(float(np.linalg.norm(hist)) - 1.0) < 1e-5


def test_a_premultiplied_grey_image_keeps_its_transparency_on_white() -> None:
    assert to_rgb(Image.new("La", (2, 2), (0, 0))).getpixel((0, 0)) == (255, 255, 255)
