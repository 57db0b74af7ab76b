"""ImageBind encoder: the real model code in a tiny configuration, loaded from a checkpoint file.

The real imagebind_huge weights (~4.5 GB) cannot be downloaded here, so these tests save a tiny, randomly
initialised ImageBindModel (the package's own code, small widths and depths) and load it through every
path the encoder knows. Only the `slow` test needs the real checkpoint, and it says so when skipped.
"""

from __future__ import annotations

import importlib.util
import sys
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

if (
    importlib.util.find_spec("imagebind") is None
):  # not pytest.importorskip: imagebind/__init__ needs torchaudio
    pytest.skip(
        "ImageBind model code not installed (pip install 'lookalike[imagebind]' && "
        "pip install --no-deps imagebind-unofficial==0.1.1)",
        allow_module_level=True,
    )

import torch

from lookalike.encoders import imagebind as ib
from lookalike.encoders.imagebind import ImageBindEncoder
from lookalike.errors import EncoderError

TINY: dict[str, Any] = {
    "out_embed_dim": 48,
    "vision_embed_dim": 32,
    "vision_num_blocks": 1,
    "vision_num_heads": 2,
    "text_embed_dim": 32,
    "text_num_blocks": 1,
    "text_num_heads": 2,
    "audio_embed_dim": 32,
    "audio_num_blocks": 1,
    "audio_num_heads": 2,
    "depth_embed_dim": 16,
    "depth_num_blocks": 1,
    "depth_num_heads": 2,
    "thermal_embed_dim": 16,
    "thermal_num_blocks": 1,
    "thermal_num_heads": 2,
    "imu_embed_dim": 16,
    "imu_num_blocks": 1,
    "imu_num_heads": 2,
}


def _tiny_model(seed: int = 0, **overrides: Any) -> torch.nn.Module:
    model_mod, _, _ = ib._import_imagebind()
    torch.manual_seed(seed)
    return model_mod.ImageBindModel(**{**TINY, **overrides}).eval()


@pytest.fixture(scope="module")
def reference() -> torch.nn.Module:
    """The tiny model whose weights the checkpoint holds: what the encoder must reproduce."""
    return _tiny_model()


@pytest.fixture(scope="module")
def checkpoint(reference: torch.nn.Module, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "tiny_imagebind.pth"
    torch.save(reference.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def encoder(checkpoint: Path) -> ImageBindEncoder:
    return ImageBindEncoder(device="cpu", checkpoint=checkpoint, model_kwargs=TINY)


@pytest.fixture
def no_checkpoint_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty caches: XDG cache, torch hub and ./.checkpoints all point into tmp_path."""
    monkeypatch.delenv(ib.CHECKPOINT_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _images() -> list[Image.Image]:
    rng = np.random.default_rng(1)
    noise = Image.fromarray(rng.integers(0, 255, (300, 200, 3), dtype=np.uint8))
    stripes = Image.fromarray(((np.indices((180, 400)).sum(0) // 12 % 2) * 255).astype(np.uint8))
    return [Image.new("RGB", (224, 224), (220, 30, 30)), noise, stripes.convert("L")]


def _tone(seconds: float, rate: int, freq: float) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _write_wav(path: Path, channels: np.ndarray, rate: int) -> Path:
    """int16 PCM WAV from float [channels, samples]."""
    pcm = np.round(np.clip(channels, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels.shape[0])
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(pcm.T.tobytes())
    return path


# --- embeddings ----------------------------------------------------------------------------------------


def test_images_texts_and_audio_land_in_one_normalised_space(encoder: ImageBindEncoder) -> None:
    imgs = encoder.embed_images(_images())
    txts = encoder.embed_texts(["a red hoodie", "white leather shoes"])
    auds = encoder.embed_audio([(_tone(3.0, 16000, 440.0), 16000)])
    assert encoder.dim == 48 and ImageBindEncoder.dim == 1024  # dim follows out_embed_dim
    for vecs, n in ((imgs, 3), (txts, 2), (auds, 1)):
        assert vecs.shape == (n, encoder.dim)
        assert vecs.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert encoder.modalities == {"image", "text", "audio"}
    assert "non-commercial" in encoder.licence


def test_outputs_are_the_checkpoints_model(encoder: ImageBindEncoder, reference: torch.nn.Module) -> None:
    """The loaded weights are the saved ones: same outputs as the model that wrote the checkpoint."""
    images, texts = _images(), ["a red hoodie", "Crème brûlée"]
    audio = [(_tone(2.5, 16000, 300.0), 16000)]
    with torch.inference_mode():
        want = reference(
            {
                "vision": torch.from_numpy(ib.preprocess_images(images)),
                "text": encoder.tokenize(texts),
                "audio": torch.stack([ib.audio_clips(w, r) for w, r in audio]),
            }
        )
    np.testing.assert_allclose(
        encoder.embed_images(images), ib.l2_normalise(want["vision"].numpy()), atol=1e-5
    )
    np.testing.assert_allclose(encoder.embed_texts(texts), ib.l2_normalise(want["text"].numpy()), atol=1e-5)
    np.testing.assert_allclose(encoder.embed_audio(audio), ib.l2_normalise(want["audio"].numpy()), atol=1e-5)


def test_batched_equals_one_by_one_and_is_deterministic(
    encoder: ImageBindEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    images, texts = _images(), ["red", "a pair of blue running shoes", "wine"]
    audio = [(_tone(1.0, 16000, 200.0), 16000), (_tone(4.0, 16000, 900.0), 16000)]
    batched = (encoder.embed_images(images), encoder.embed_texts(texts), encoder.embed_audio(audio))
    np.testing.assert_array_equal(encoder.embed_images(images), batched[0])
    monkeypatch.setattr(encoder, "batch_size", 2)  # 3 images: two chunks
    monkeypatch.setattr(encoder, "text_batch_size", 2)
    np.testing.assert_allclose(encoder.embed_images(images), batched[0], atol=1e-5)
    np.testing.assert_allclose(encoder.embed_texts(texts), batched[1], atol=1e-5)
    single = np.concatenate([encoder.embed_images([img]) for img in images])
    np.testing.assert_allclose(single, batched[0], atol=1e-5)
    np.testing.assert_allclose(
        np.concatenate([encoder.embed_audio([a]) for a in audio]), batched[2], atol=1e-5
    )
    assert not np.allclose(batched[0][0], batched[0][1])  # different inputs, different vectors


def test_empty_inputs(encoder: ImageBindEncoder) -> None:
    for embed in (encoder.embed_images, encoder.embed_texts, encoder.embed_audio):
        out = embed([])
        assert out.shape == (0, encoder.dim) and out.dtype == np.float32


# --- preprocessing -------------------------------------------------------------------------------------


def test_image_preprocessing_is_imagebinds_recipe() -> None:
    """Shorter side to 224, centre crop, CLIP normalisation: a flat colour gives its normalised value."""
    batch = ib.preprocess_images([Image.new("RGB", (640, 300), (255, 128, 0)), Image.new("L", (100, 900))])
    assert batch.shape == (2, 3, 224, 224) and batch.dtype == np.float32
    want = (np.array([255, 128, 0]) / 255.0 - np.array(ib.CLIP_MEAN)) / np.array(ib.CLIP_STD)
    np.testing.assert_allclose(batch[0].mean(axis=(1, 2)), want, atol=1e-5)
    # the crop is central: a bar in the middle of a wide image survives, the edges do not
    wide = np.zeros((100, 400, 3), dtype=np.uint8)
    wide[:, 190:210] = 255
    arr = ib.preprocess_images([Image.fromarray(wide)])[0, 0]
    assert arr[:, 100:124].mean() > 1.0 > arr[:, :20].mean()


def test_tokenizer_is_clip_bpe_with_77_tokens(encoder: ImageBindEncoder) -> None:
    tokens = encoder.tokenize(["a red hoodie", "shoes " * 200])
    assert tokens.shape == (2, ib.CONTEXT_LENGTH) and tokens.dtype == torch.long
    sot, eot = 49406, 49407
    assert tokens[0, 0] == sot and tokens[0, 4] == eot and tokens[0, 5:].eq(0).all()  # a, red, hoodie
    assert tokens[1, -1] == eot  # long text truncated, end token kept
    assert encoder.tokenize(["x"]).shape == (1, ib.CONTEXT_LENGTH)
    with pytest.raises(EncoderError, match="strings"):
        encoder.tokenize([b"bytes"])  # type: ignore[list-item]


def test_audio_preprocessing_is_imagebinds_recipe() -> None:
    clips = ib.audio_clips(_tone(5.0, 16000, 440.0), 16000)
    assert clips.shape == (3, 1, ib.AUDIO_MEL_BINS, ib.AUDIO_TARGET_LEN)
    # 2 s at 10 ms hops gives 198 frames; the rest is zero fbank, normalised
    pad = (0.0 - ib.AUDIO_MEAN) / ib.AUDIO_STD
    np.testing.assert_allclose(clips[0, 0, :, 198:].numpy(), pad)
    assert not np.allclose(clips[0, 0, :, 197].numpy(), pad)
    # the 440 Hz tone is the loudest mel band (kaldi mel scale, 20 Hz to 8 kHz)
    mel = 1127.0 * np.log1p(np.array([20.0, 8000.0, 440.0]) / 700.0)
    band = (mel[2] - mel[0]) / (mel[1] - mel[0]) * (ib.AUDIO_MEL_BINS + 1) - 1
    assert abs(int(clips[0, 0, :, :198].mean(dim=1).argmax()) - band) <= 1.5
    # a short sound: three identical clips, padded
    short = ib.audio_clips(_tone(0.5, 16000, 440.0), 16000)
    torch.testing.assert_close(short[0], short[2])
    np.testing.assert_allclose(short[0, 0, :, 60:].numpy(), pad)


def test_resampling_and_channel_layouts_agree() -> None:
    """44.1 kHz stereo, int16 and [samples, channels] inputs give the 16 kHz mono result."""
    mono16 = ib.audio_clips(_tone(3.0, 16000, 500.0), 16000)
    mono44 = ib.audio_clips(_tone(3.0, 44100, 500.0), 44100)
    assert torch.allclose(mono16, mono44, atol=0.05)  # same tone, resampled
    tone = _tone(3.0, 22050, 500.0)
    stereo = np.stack([tone, tone])
    ref = ib.audio_clips(tone, 22050)
    torch.testing.assert_close(ib.audio_clips(stereo, 22050), ref)
    torch.testing.assert_close(ib.audio_clips(stereo.T.copy(), 22050), ref)
    torch.testing.assert_close(ib.audio_clips(torch.from_numpy(tone), 22050), ref)
    as_int16 = np.round(tone * 32767).astype(np.int16)
    torch.testing.assert_close(ib.audio_clips(as_int16, 22050), ib.audio_clips(as_int16 / 32768.0, 22050))


def test_audio_from_wav_files(encoder: ImageBindEncoder, tmp_path: Path) -> None:
    tone = _tone(2.5, 44100, 600.0)
    path = _write_wav(tmp_path / "stereo.wav", np.stack([tone, tone]), 44100)
    data, rate = ib.read_wav(path)
    assert rate == 44100 and data.shape == (2, tone.size) and data.dtype == np.float32
    np.testing.assert_allclose(data[0], tone, atol=1 / 32767)
    from_file, from_array = encoder.embed_audio([path, (data, 44100)])
    np.testing.assert_allclose(from_file, from_array, atol=1e-6)
    assert encoder.embed_audio([str(path)]).shape == (1, encoder.dim)


def test_unreadable_or_too_short_audio_is_a_clear_error(encoder: ImageBindEncoder, tmp_path: Path) -> None:
    mp3 = tmp_path / "song.mp3"
    mp3.write_bytes(b"ID3\x03\x00\x00\x00" + b"\x00" * 64)
    with pytest.raises(EncoderError, match="only PCM WAV"):
        encoder.embed_audio([mp3])
    with pytest.raises(EncoderError, match="cannot read the audio file"):
        encoder.embed_audio([tmp_path / "missing.wav"])
    with pytest.raises(EncoderError, match="too short"):
        encoder.embed_audio([(np.zeros(100, dtype=np.float32), 16000)])
    with pytest.raises(EncoderError, match="1-D or"):
        encoder.embed_audio([(np.zeros((2, 2, 16000), dtype=np.float32), 16000)])


# --- checkpoint ----------------------------------------------------------------------------------------


def test_checkpoint_from_env_var(checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ib.CHECKPOINT_ENV, str(checkpoint))
    assert ImageBindEncoder.checkpoint_path() == checkpoint
    assert ImageBindEncoder.weights_present()
    enc = ImageBindEncoder(device="cpu", model_kwargs=TINY)
    assert enc.checkpoint == checkpoint and enc.embed_texts(["a"]).shape == (1, 48)


def test_env_var_to_a_missing_file_is_an_error_not_a_fallback(
    no_checkpoint_anywhere: Path, checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = no_checkpoint_anywhere / ".checkpoints" / ib.CHECKPOINT_NAME
    cached.parent.mkdir()
    cached.write_bytes(checkpoint.read_bytes())
    monkeypatch.setenv(ib.CHECKPOINT_ENV, str(no_checkpoint_anywhere / "typo.pth"))
    assert ImageBindEncoder.checkpoint_path() is None
    with pytest.raises(EncoderError, match=f"{ib.CHECKPOINT_ENV} points to .*typo.pth"):
        ImageBindEncoder(device="cpu", model_kwargs=TINY)
    # the argument wins over the environment
    enc = ImageBindEncoder(device="cpu", checkpoint=checkpoint, model_kwargs=TINY)
    assert enc.checkpoint == checkpoint


def test_cache_locations_are_searched_in_order(no_checkpoint_anywhere: Path, checkpoint: Path) -> None:
    hub = Path(torch.hub.get_dir()) / "checkpoints" / ib.CHECKPOINT_NAME
    upstream = Path(".checkpoints") / ib.CHECKPOINT_NAME
    ours = no_checkpoint_anywhere / "cache" / "lookalike" / ib.CHECKPOINT_NAME
    assert ib.default_cache_path() == ours
    assert ib.checkpoint_candidates() == [ours, upstream, hub]
    for path in (hub, upstream, ours):  # each new one takes precedence over the previous
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(checkpoint.read_bytes())
        assert ImageBindEncoder.checkpoint_path() == path
    enc = ImageBindEncoder(device="cpu", model_kwargs=TINY)
    assert enc.checkpoint == ours


def test_missing_checkpoint_says_where_to_get_it(no_checkpoint_anywhere: Path) -> None:
    assert not ImageBindEncoder.weights_present()
    assert ImageBindEncoder.checkpoint_path() is None
    with pytest.raises(EncoderError) as err:
        ImageBindEncoder(device="cpu")  # the huge default: must fail before building anything
    msg = str(err.value)
    for needed in (ib.CHECKPOINT_URL, ib.CHECKPOINT_ENV, str(ib.default_cache_path()), "4.5 GB"):
        assert needed in msg


def test_partial_or_foreign_checkpoints_are_refused(
    reference: torch.nn.Module, tmp_path: Path, checkpoint: Path
) -> None:
    state = reference.state_dict()
    partial = {k: v for k, v in state.items() if not k.startswith("modality_trunks.vision")}
    torch.save(partial, tmp_path / "partial.pth")
    with pytest.raises(EncoderError, match=r"missing weights \(e\.g\. modality_trunks\.vision"):
        ImageBindEncoder(device="cpu", checkpoint=tmp_path / "partial.pth", model_kwargs=TINY)

    torch.save({**state, "extra.weight": torch.zeros(1)}, tmp_path / "extra.pth")
    with pytest.raises(EncoderError, match="unexpected weights"):
        ImageBindEncoder(device="cpu", checkpoint=tmp_path / "extra.pth", model_kwargs=TINY)

    with pytest.raises(EncoderError, match="weights of another shape"):  # tiny weights, bigger model
        ImageBindEncoder(device="cpu", checkpoint=checkpoint, model_kwargs={**TINY, "out_embed_dim": 64})

    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(EncoderError, match="could not read the ImageBind checkpoint"):
        ImageBindEncoder(device="cpu", checkpoint=tmp_path / "junk.pth", model_kwargs=TINY)

    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(EncoderError, match="not an ImageBind state dict"):
        ImageBindEncoder(device="cpu", checkpoint=tmp_path / "list.pth", model_kwargs=TINY)

    with pytest.raises(EncoderError, match="invalid ImageBind model configuration"):
        ImageBindEncoder(device="cpu", checkpoint=checkpoint, model_kwargs={"no_such_option": 1})


def test_model_code_import_leaves_no_stand_ins_behind() -> None:
    """The timm stand-in exists only while ImageBind's code is imported."""
    ib._import_imagebind()
    timm = sys.modules.get("timm")
    assert timm is None or hasattr(timm, "__version__")
    assert "imagebind.data" not in sys.modules  # the torchaudio/torchvision module stays unimported


# --- real weights ----------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(
    not ImageBindEncoder.weights_present(),
    reason=f"no real ImageBind checkpoint: {ib.missing_checkpoint_message(ib.checkpoint_candidates())}",
)
def test_real_weights_retrieve_products(demo_catalog: Path) -> None:
    """imagebind_huge on demo photos: augmented views find their source, words find their category."""
    from lookalike.eval.augment import apply, seed_for
    from lookalike.images import load_image

    enc = ImageBindEncoder(device="auto")
    assert enc.dim == 1024
    picks = {cat: sorted((demo_catalog / cat).glob("*.png"))[0] for cat in ("Footwear", "Juices", "Hoodies")}
    paths = list(picks.values()) + sorted((demo_catalog / "Paints").glob("*.png"))[:2]
    index = enc.embed_images([load_image(p) for p in paths])
    views = [apply("combined", load_image(p), seed_for("imagebind", p.name)) for p in paths[:3]]
    hits = (enc.embed_images(views) @ index.T).argmax(axis=1)
    assert list(hits) == [0, 1, 2]
    words = enc.embed_texts(["a photo of sneakers", "a bottle of juice", "a hooded sweatshirt"])
    assert list((words @ index[:3].T).argmax(axis=1)) == [0, 1, 2]


def test_audio_with_hostile_sample_rates_is_bounded() -> None:
    """A 44-byte WAV header can claim any rate: odd rates must not build a gigabyte resampling kernel."""
    pytest.importorskip("torch")
    from lookalike.encoders.imagebind import audio_clips

    assert tuple(audio_clips(np.zeros(44101 * 3, dtype=np.float32), 44101).shape) == (3, 1, 128, 204)
    with pytest.raises(EncoderError, match="outside 8000"):
        audio_clips(np.zeros(100, dtype=np.float32), 2**31 - 1)
