"""ImageBind encoder (Meta's imagebind_huge): images, texts and audio in one 1024-d space.

The reference model of the product. Model code comes from the `imagebind-unofficial` package (Meta's
code and BPE vocabulary, no weights); the weights are a ~4.5 GB checkpoint that an online user downloads
once (CHECKPOINT_URL) and that is found through LOOKALIKE_IMAGEBIND_CHECKPOINT or the usual caches.
Weights are loaded with strict=True: a missing or mismatched checkpoint is an EncoderError, never a
silently random model.

Preprocessing is reimplemented here from the package's imagebind/data.py, because that module imports
torchvision, torchaudio and pytorchvideo, whose PyPI wheels are CUDA-linked and do not load against a
CPU-only torch. Vision and text follow data.py exactly; audio follows it too (kaldi fbank, resampling and
clip sampling in plain torch ops) except that stereo is mixed down to mono where data.py keeps only the
first channel, and files are read with the stdlib `wave` module: PCM WAV only (8/16/24/32-bit, any rate).
Other formats can be passed as (waveform, sample_rate).

Longer than most modules (~580 lines) on purpose: the three preprocessing pipelines must stay next to the
model they feed and to the checkpoint loading, so that one file says exactly what ImageBind receives.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import logging
import math
import os
import sys
import time
import types
import wave
from collections.abc import Iterator, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from lookalike.encoders.base import Modality, configure_torch_threads, l2_normalise, resolve_device
from lookalike.errors import EncoderError
from lookalike.images import to_rgb

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

CHECKPOINT_URL = "https://dl.fbaipublicfiles.com/imagebind/imagebind_huge.pth"
CHECKPOINT_ENV = "LOOKALIKE_IMAGEBIND_CHECKPOINT"
CHECKPOINT_NAME = "imagebind_huge.pth"
INSTALL_HINT = (
    "install it with: pip install 'lookalike[imagebind]' && pip install --no-deps imagebind-unofficial==0.1.1"
)

# imagebind_model.imagebind_huge(), whose pretrained=True would download into the working directory.
HUGE_CONFIG: dict[str, Any] = {
    "vision_embed_dim": 1280,
    "vision_num_blocks": 32,
    "vision_num_heads": 16,
    "text_embed_dim": 1024,
    "text_num_blocks": 24,
    "text_num_heads": 16,
    "out_embed_dim": 1024,
    "audio_drop_path": 0.1,
    "imu_drop_path": 0.7,
}
# Modalities the checkpoint carries but this product never embeds: dropped after a strict load.
_UNUSED_MODALITIES = ("depth", "thermal", "imu")

IMAGE_SIZE = 224
_MAX_RESIZED_SIDE = 4096  # a longer resized side (a strip over ~18:1) is resampled only where cropped
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
CONTEXT_LENGTH = 77

AUDIO_SAMPLE_RATE = 16_000
AUDIO_MEL_BINS = 128
AUDIO_TARGET_LEN = 204  # frames per clip
AUDIO_CLIP_SECONDS = 2
AUDIO_CLIPS = 3
AUDIO_MEAN = -4.268
AUDIO_STD = 9.138
_FRAME_LENGTH = 400  # 25 ms at 16 kHz
_FRAME_SHIFT = 160  # 10 ms at 16 kHz
_FFT_SIZE = 512

AudioInput = str | os.PathLike | tuple[Any, int]


# --- checkpoint ----------------------------------------------------------------------------------------


def default_cache_path() -> Path:
    """Where lookalike looks first and `download_checkpoint` writes: ~/.cache/lookalike/ on Linux."""
    from platformdirs import user_cache_path

    return user_cache_path("lookalike", appauthor=False) / CHECKPOINT_NAME


def checkpoint_candidates() -> list[Path]:
    """The cache locations searched when no path is given: ours, upstream's ./.checkpoints, torch hub's."""
    import torch.hub

    return [
        default_cache_path(),
        Path(".checkpoints") / CHECKPOINT_NAME,
        Path(torch.hub.get_dir()) / "checkpoints" / CHECKPOINT_NAME,
    ]


def missing_checkpoint_message(tried: Sequence[Path]) -> str:
    where = ", ".join(str(p) for p in tried)
    return (
        f"the ImageBind weights ({CHECKPOINT_NAME}, about 4.5 GB) were not found (looked in: {where}). "
        f"Download {CHECKPOINT_URL} on a machine with internet access and either put it at "
        f"{default_cache_path()} or set {CHECKPOINT_ENV}=/path/to/{CHECKPOINT_NAME}. "
        "The weights are CC-BY-NC 4.0: non-commercial use only."
    )


def download_checkpoint(dest: str | os.PathLike | None = None, progress: bool = True) -> Path:
    """Download imagebind_huge.pth (~4.5 GB) for online users; never called implicitly."""
    import torch.hub

    target = Path(dest) if dest is not None else default_cache_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s to %s", CHECKPOINT_URL, target)
    try:
        torch.hub.download_url_to_file(CHECKPOINT_URL, str(target), progress=progress)
    except Exception as exc:  # URLError, HTTPError, OSError, timeouts: all mean "could not fetch"
        raise EncoderError(
            f"could not download the ImageBind weights from {CHECKPOINT_URL} ({exc}). Without internet "
            f"access, download the file elsewhere and copy it to {target}, or set {CHECKPOINT_ENV}."
        ) from exc
    return target


def _resolve_checkpoint(checkpoint: str | os.PathLike | None) -> Path:
    """An explicit path (argument, then env var) must exist; otherwise the first cache hit wins."""
    explicit, source = checkpoint, "the checkpoint argument"
    if not explicit and os.environ.get(CHECKPOINT_ENV):
        explicit, source = os.environ[CHECKPOINT_ENV], CHECKPOINT_ENV
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise EncoderError(
                f"{source} points to {path}, which is not a file. Download {CHECKPOINT_URL} (about 4.5 GB) "
                f"and point {CHECKPOINT_ENV} at it, or put it at {default_cache_path()}."
            )
        return path
    tried = checkpoint_candidates()
    for path in tried:
        if path.is_file():
            return path
    raise EncoderError(missing_checkpoint_message(tried))


# --- model code ----------------------------------------------------------------------------------------


def _drop_path_class() -> type:
    from torch import nn

    class DropPath(nn.Module):
        """timm's DropPath (stochastic depth): identity in eval mode, the only mode inference uses."""

        def __init__(self, drop_prob: float = 0.0, scale_by_keep: bool = True) -> None:
            super().__init__()
            self.drop_prob = drop_prob
            self.scale_by_keep = scale_by_keep

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.drop_prob == 0.0 or not self.training:
                return x
            keep = 1.0 - self.drop_prob
            mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
            if keep > 0.0 and self.scale_by_keep:
                mask.div_(keep)
            return x * mask

    return DropPath


@contextlib.contextmanager
def _timm_layers() -> Iterator[None]:
    """Make `from timm.layers import DropPath, trunc_normal_` work while ImageBind's code is imported.

    Real timm is used when it imports. It cannot without a working torchvision (timm.layers imports it),
    and PyPI's torchvision is CUDA-linked, so on a CPU-only torch a stand-in provides the two names:
    torch's own trunc_normal_ (same signature) and DropPath above. Neither holds parameters, so state
    dicts are identical. The stand-in is removed from sys.modules afterwards.
    """
    try:
        importlib.import_module("timm.layers")
        real = True
    except Exception as exc:  # ImportError, or RuntimeError/OSError from a CUDA-only torchvision
        log.debug("timm unusable (%s); using torch stand-ins for DropPath and trunc_normal_", exc)
        real = False
    if real:
        yield
        return
    import torch.nn.init

    layers = types.ModuleType("timm.layers")
    layers.DropPath = _drop_path_class()  # type: ignore[attr-defined]
    layers.trunc_normal_ = torch.nn.init.trunc_normal_  # type: ignore[attr-defined]
    timm = types.ModuleType("timm")
    timm.__path__ = []  # type: ignore[attr-defined]
    timm.layers = layers  # type: ignore[attr-defined]
    saved = {name: sys.modules.get(name) for name in ("timm", "timm.layers")}
    sys.modules.update({"timm": timm, "timm.layers": layers})
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def _import_imagebind() -> tuple[types.ModuleType, types.ModuleType, Path]:
    """ImageBind's model and preprocessor modules, and its package folder (for the BPE vocabulary).

    imagebind/__init__.py imports imagebind.data (torchaudio, torchvision, pytorchvideo); its model code
    needs none of them. So the package object is created from its spec without running __init__.py,
    unless something already imported it, and only imagebind.models.* is imported.
    """
    spec = importlib.util.find_spec("imagebind")
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError(f"the ImageBind model code is not installed; {INSTALL_HINT}")
    if "imagebind" not in sys.modules:
        sys.modules["imagebind"] = importlib.util.module_from_spec(spec)
    try:
        with _timm_layers():
            model_mod = importlib.import_module("imagebind.models.imagebind_model")
            prep_mod = importlib.import_module("imagebind.models.multimodal_preprocessors")
    except ImportError as exc:
        raise EncoderError(f"the ImageBind model code could not be imported ({exc}); {INSTALL_HINT}") from exc
    return model_mod, prep_mod, Path(next(iter(spec.submodule_search_locations)))


def _load_state_dict(model: torch.nn.Module, path: Path) -> None:
    """Strict load with a message that says what is wrong, not a 1000-line RuntimeError."""
    import torch

    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise
            state = torch.load(path, map_location="cpu", weights_only=True)  # legacy (non-zip) format
    except Exception as exc:
        raise EncoderError(
            f"could not read the ImageBind checkpoint {path} ({type(exc).__name__}: {exc}); the file may be "
            f"incomplete or not a state dict: download {CHECKPOINT_URL} again"
        ) from exc
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise EncoderError(f"{path} is not an ImageBind state dict (expected a mapping of names to tensors)")
    expected = model.state_dict()
    missing = sorted(expected.keys() - state.keys())
    unexpected = sorted(state.keys() - expected.keys())
    mismatched = sorted(k for k in expected.keys() & state.keys() if expected[k].shape != state[k].shape)
    if missing or unexpected or mismatched:
        parts = [
            f"{len(keys)} {what} (e.g. {', '.join(keys[:3])})"
            for what, keys in (
                ("missing weights", missing),
                ("unexpected weights", unexpected),
                ("weights of another shape", mismatched),
            )
            if keys
        ]
        raise EncoderError(
            f"the checkpoint {path} does not fit the ImageBind model: {'; '.join(parts)}. "
            f"Use the original {CHECKPOINT_NAME} from {CHECKPOINT_URL}."
        )
    model.load_state_dict(state, strict=True)


# --- preprocessing -------------------------------------------------------------------------------------


def preprocess_images(images: Sequence[Image.Image]) -> np.ndarray:
    """data.py's vision transform: shorter side to 224 (bicubic), centre crop 224, [0, 1], CLIP mean/std.

    Same arithmetic as torchvision's Resize/CenterCrop/ToTensor/Normalize on PIL images. For a long
    strip (a 2×50,000 image would resize to 224×5.6 million first) only the crop's source region is
    resampled, straight to 224×224: the same filter centres, without the gigabytes in between.
    """
    mean = np.asarray(CLIP_MEAN, dtype=np.float32)[:, None, None]
    std = np.asarray(CLIP_STD, dtype=np.float32)[:, None, None]
    batch = np.empty((len(images), 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    for i, img in enumerate(images):
        img = to_rgb(img)
        w, h = img.size
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = IMAGE_SIZE, int(IMAGE_SIZE * long / short)
        size = (new_short, new_long) if w <= h else (new_long, new_short)
        top, left = int(round((size[1] - IMAGE_SIZE) / 2.0)), int(round((size[0] - IMAGE_SIZE) / 2.0))
        if new_long > _MAX_RESIZED_SIDE:
            sx, sy = w / size[0], h / size[1]
            box = (left * sx, top * sy, (left + IMAGE_SIZE) * sx, (top + IMAGE_SIZE) * sy)
            img = img.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BICUBIC, box=box)
        else:
            if size != (w, h):
                img = img.resize(size, Image.BICUBIC)
            img = img.crop((left, top, left + IMAGE_SIZE, top + IMAGE_SIZE))
        arr = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0
        batch[i] = (arr - mean) / std
    return batch


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """A PCM WAV file as float32 [channels, samples] in [-1, 1], scaled as torchaudio.load scales."""
    try:
        with wave.open(os.fspath(path), "rb") as f:
            channels, width, rate = f.getnchannels(), f.getsampwidth(), f.getframerate()
            raw = f.readframes(f.getnframes())
    except (wave.Error, EOFError) as exc:
        raise EncoderError(
            f"cannot read {path} as audio ({exc}): only PCM WAV files are supported; convert other formats "
            "(e.g. `ffmpeg -i in.mp3 -ac 1 -ar 16000 out.wav`) or pass (waveform, sample_rate)"
        ) from exc
    except OSError as exc:
        raise EncoderError(f"cannot read the audio file {path}: {exc}") from exc
    if width == 1:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        data = (np.where(ints >= 1 << 23, ints - (1 << 24), ints)).astype(np.float32) / float(1 << 23)
    elif width == 4:
        data = (np.frombuffer(raw, dtype="<i4").astype(np.float64) / float(1 << 31)).astype(np.float32)
    else:  # pragma: no cover - wave refuses other widths already
        raise EncoderError(f"{path}: unsupported sample width {width} bytes")
    return data.reshape(-1, channels).T.copy(), rate


def _mono(waveform: Any) -> np.ndarray:
    """1-D float32 from [samples], [channels, samples] or [samples, channels] (shorter axis = channels)."""
    if hasattr(waveform, "detach"):
        waveform = waveform.detach().cpu().numpy()
    arr = np.asarray(waveform)
    if arr.dtype.kind in "iu":
        info = np.iinfo(arr.dtype)
        arr = (arr.astype(np.float64) - (info.max + 1 + info.min) / 2) / ((info.max - info.min + 1) / 2)
    arr = arr.astype(np.float32)
    if arr.ndim == 2:
        arr = arr.mean(axis=0 if arr.shape[0] <= arr.shape[1] else 1)
    if arr.ndim != 1:
        raise EncoderError(f"audio waveform must be 1-D or [channels, samples], not shape {arr.shape}")
    return arr


def resample(waveform: torch.Tensor, orig_freq: int, new_freq: int) -> torch.Tensor:
    """torchaudio.functional.resample's default (sinc_interp_hann, width 6, rolloff 0.99) in torch ops."""
    import torch

    if orig_freq == new_freq:
        return waveform
    gcd = math.gcd(int(orig_freq), int(new_freq))
    orig, new = int(orig_freq) // gcd, int(new_freq) // gcd
    lowpass_width, base_freq = 6, min(orig, new) * 0.99
    width = math.ceil(lowpass_width * orig / base_freq)
    if new * (2 * width + orig) > 20_000_000:  # odd rate pairs (44101 → 16000): a kernel of gigabytes
        n_out = math.ceil(waveform.shape[-1] * new / orig)
        x = waveform.reshape(-1, 1, waveform.shape[-1])
        out = torch.nn.functional.interpolate(x, size=n_out, mode="linear", align_corners=False)
        return out.reshape(*waveform.shape[:-1], n_out)  # plain linear resampling: close, cheap, bounded
    dtype = waveform.dtype
    idx = torch.arange(-width, width + orig, dtype=dtype)[None, None] / orig
    t = torch.arange(0, -new, -1, dtype=dtype)[:, None, None] / new + idx
    t *= base_freq
    t = t.clamp_(-lowpass_width, lowpass_width)
    window = torch.cos(t * math.pi / lowpass_width / 2) ** 2
    t *= math.pi
    kernels = torch.where(t == 0, torch.tensor(1.0).to(t), t.sin() / t)
    kernels *= window * (base_freq / orig)
    length = waveform.shape[-1]
    padded = torch.nn.functional.pad(waveform.reshape(1, 1, -1), (width, width + orig))
    out = torch.nn.functional.conv1d(padded, kernels, stride=orig).transpose(1, 2).reshape(-1)
    return out[: math.ceil(new * length / orig)]


@functools.cache
def _mel_banks() -> torch.Tensor:
    """Kaldi's triangular mel filters (torchaudio.compliance.kaldi.get_mel_banks, no VTLN), [bins, 257]."""
    import torch

    low, high = 1127.0 * math.log(1.0 + 20.0 / 700.0), 1127.0 * math.log(1.0 + AUDIO_SAMPLE_RATE / 2 / 700.0)
    delta = (high - low) / (AUDIO_MEL_BINS + 1)
    b = torch.arange(AUDIO_MEL_BINS).unsqueeze(1)
    left, center, right = low + b * delta, low + (b + 1.0) * delta, low + (b + 2.0) * delta
    fft_mel = 1127.0 * (1.0 + AUDIO_SAMPLE_RATE / _FFT_SIZE * torch.arange(_FFT_SIZE / 2) / 700.0).log()
    fft_mel = fft_mel.unsqueeze(0)
    up, down = (fft_mel - left) / (center - left), (right - fft_mel) / (right - center)
    banks = torch.max(torch.zeros(1), torch.min(up, down))
    return torch.nn.functional.pad(banks, (0, 1))


def kaldi_fbank(waveform: torch.Tensor) -> torch.Tensor:
    """Log mel filterbank [frames, 128] of 16 kHz mono audio, as data.py calls torchaudio's kaldi.fbank.

    Options there: htk_compat, no energy, hanning window, 25 ms frames every 10 ms, no dither; the
    rest are kaldi defaults (DC removal per frame, pre-emphasis 0.97, FFT 512, power, log, 20 Hz floor).
    """
    import torch

    waveform = waveform.contiguous()
    n = waveform.shape[0]
    if n < _FRAME_LENGTH:
        raise EncoderError(f"audio clip too short: {n} samples at 16 kHz, at least {_FRAME_LENGTH} (25 ms)")
    frames = waveform.as_strided((1 + (n - _FRAME_LENGTH) // _FRAME_SHIFT, _FRAME_LENGTH), (_FRAME_SHIFT, 1))
    frames = frames - frames.mean(dim=1, keepdim=True)
    shifted = torch.nn.functional.pad(frames.unsqueeze(0), (1, 0), mode="replicate").squeeze(0)
    frames = frames - 0.97 * shifted[:, :-1]
    frames = frames * torch.hann_window(_FRAME_LENGTH, periodic=False, dtype=frames.dtype).unsqueeze(0)
    frames = torch.nn.functional.pad(frames, (0, _FFT_SIZE - _FRAME_LENGTH))
    power = torch.fft.rfft(frames).abs().pow(2.0)
    energies = torch.mm(power, _mel_banks().to(power.dtype).T)
    return torch.max(energies, torch.tensor(torch.finfo(torch.float32).eps, dtype=energies.dtype)).log()


MIN_AUDIO_RATE, MAX_AUDIO_RATE = 8_000, 192_000
MAX_AUDIO_SECONDS = 60


def audio_clips(waveform: Any, sample_rate: int) -> torch.Tensor:
    """data.py's audio transform: [3, 1, 128, 204] normalised fbanks of three 2 s clips spread evenly.

    Clip times follow pytorchvideo's ConstantClipsPerVideoSampler (starts at k/3 of the last possible
    start); audio shorter than 2 s gives three identical clips, zero-padded to 204 frames.
    """
    import torch

    mono = torch.from_numpy(_mono(waveform))
    # a header can claim any rate; an odd one (44101 Hz) would make the resampling kernel gigabytes
    if not MIN_AUDIO_RATE <= sample_rate <= MAX_AUDIO_RATE:
        raise EncoderError(
            f"audio sample rate {sample_rate} Hz is outside {MIN_AUDIO_RATE}–{MAX_AUDIO_RATE} Hz; "
            "convert it, e.g. `ffmpeg -i in.wav -ac 1 -ar 16000 out.wav`"
        )
    if mono.shape[-1] > MAX_AUDIO_SECONDS * sample_rate:
        mono = mono[..., : MAX_AUDIO_SECONDS * int(sample_rate)]  # the clips span the first minute at most
    wav = resample(mono, int(sample_rate), AUDIO_SAMPLE_RATE)
    duration = wav.shape[0] / AUDIO_SAMPLE_RATE
    max_start = Fraction(max(duration - Fraction(AUDIO_CLIP_SECONDS), 0))
    step = Fraction(max_start, AUDIO_CLIPS)
    clips = []
    for k in range(AUDIO_CLIPS):
        start = step * k
        lo, hi = int(start * AUDIO_SAMPLE_RATE), int((start + AUDIO_CLIP_SECONDS) * AUDIO_SAMPLE_RATE)
        clip = wav[lo:hi]
        # In place on a view, as data.py does: overlapping later clips see this clip's mean removed.
        clip -= clip.mean()
        fbank = kaldi_fbank(clip).T  # [mel, frames]
        gap = AUDIO_TARGET_LEN - fbank.shape[1]
        fbank = torch.nn.functional.pad(fbank, (0, gap)) if gap > 0 else fbank[:, :AUDIO_TARGET_LEN]
        clips.append(((fbank - AUDIO_MEAN) / AUDIO_STD).unsqueeze(0))
    return torch.stack(clips)


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- encoder -------------------------------------------------------------------------------------------


class ImageBindEncoder:
    """imagebind_huge: image, text and audio queries land in one space, so any can search any."""

    name = "imagebind"
    dim = 1024
    modalities = frozenset({Modality.IMAGE, Modality.TEXT, Modality.AUDIO})
    licence = "CC-BY-NC 4.0 (weights: non-commercial use only)"
    batch_size = 8  # images or audio items per forward pass (an audio item is 3 clips)
    text_batch_size = 64

    def __init__(
        self,
        device: str = "auto",
        threads: int | None = None,
        checkpoint: str | os.PathLike | None = None,
        model_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        model_mod, prep_mod, package_dir = _import_imagebind()
        import torch

        path = _resolve_checkpoint(checkpoint)
        configure_torch_threads(threads)
        self._torch = torch
        self.device = resolve_device(device)
        config = {**HUGE_CONFIG, **(model_kwargs or {})}
        self.dim = int(config["out_embed_dim"])
        started = time.perf_counter()
        log.info("loading ImageBind from %s (imagebind_huge: about a minute and 5 GB of RAM on a CPU)", path)
        try:
            model = model_mod.ImageBindModel(**config)
        except TypeError as exc:
            raise EncoderError(f"invalid ImageBind model configuration: {exc}") from exc
        _load_state_dict(model, path)
        for part in ("preprocessors", "trunks", "heads", "postprocessors"):
            modules = getattr(model, f"modality_{part}")
            for modality in _UNUSED_MODALITIES:
                if modality in modules:
                    del modules[modality]
        self._model = model.float().eval().to(self.device)
        self._tokenizer_cls = prep_mod.SimpleTokenizer
        self._bpe_path = package_dir / "bpe" / "bpe_simple_vocab_16e6.txt.gz"
        self._tokenizer: Any = None
        self.checkpoint = path
        elapsed = time.perf_counter() - started
        log.info("ImageBind loaded on %s in %.1f s (%d-d)", self.device, elapsed, self.dim)

    @staticmethod
    def checkpoint_path(checkpoint: str | os.PathLike | None = None) -> Path | None:
        """The checkpoint that would be loaded, or None when there is none."""
        try:
            return _resolve_checkpoint(checkpoint)
        except EncoderError:
            return None

    @staticmethod
    def weights_present() -> bool:
        return ImageBindEncoder.checkpoint_path() is not None

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        torch = self._torch
        if self.device.startswith("cuda"):
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            return torch.autocast("cuda", dtype=dtype)
        return contextlib.nullcontext()

    def _embed(self, modality: str, batch: torch.Tensor) -> np.ndarray:
        with self._torch.inference_mode(), self._autocast():
            out = self._model({modality: batch.to(self.device)})[modality]
        return out.float().cpu().numpy()

    def _collect(self, parts: list[np.ndarray]) -> np.ndarray:
        if not parts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(np.concatenate(parts))

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        torch = self._torch
        return self._collect(
            [
                self._embed("vision", torch.from_numpy(preprocess_images(chunk)))
                for chunk in _batches(images, self.batch_size)
            ]
        )

    def tokenize(self, texts: Sequence[str]) -> torch.Tensor:
        """CLIP BPE ids [n, 77]: start token, text (truncated), end token, zeros."""
        if self._tokenizer is None:  # reading the 49k-merge vocabulary takes a moment: only when needed
            self._tokenizer = self._tokenizer_cls(bpe_path=str(self._bpe_path), context_length=CONTEXT_LENGTH)
        if any(not isinstance(t, str) for t in texts):
            raise EncoderError("texts to embed must be strings")
        return self._tokenizer(list(texts)).reshape(len(texts), CONTEXT_LENGTH)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self._collect(
            [self._embed("text", self.tokenize(chunk)) for chunk in _batches(texts, self.text_batch_size)]
        )

    def embed_audio(self, sources: Sequence[AudioInput]) -> np.ndarray:
        """Audio from PCM WAV paths or (waveform, sample_rate) pairs; 3 clips of 2 s each, averaged."""
        torch = self._torch
        parts = []
        for chunk in _batches(sources, self.batch_size):
            clips = []
            for src in chunk:
                wav, rate = src if isinstance(src, tuple) else read_wav(src)
                clips.append(audio_clips(wav, rate))
            parts.append(self._embed("audio", torch.stack(clips)))
        return self._collect(parts)
