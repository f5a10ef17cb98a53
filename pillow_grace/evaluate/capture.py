"""How a photo becomes a camera frame: a fixed capture size, the model's input size, or native."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from pillow_grace.evaluate.images import fit_to_capture, parse_size

#: Longest side of a "native" capture; larger photos are downscaled to it.
NATIVE_CAP = 1920


@dataclass(frozen=True)
class CaptureSpec:
    """How a photo becomes a camera frame.

    ``fixed``: centre-crop to the aspect ratio of ``size``, then Lanczos
    resize to exactly ``size`` (what a camera ISP's scaler produces);
    ``model``: the same, at the model's own input size; ``native``: the photo
    as it is, downscaled (Lanczos) so its long side is at most ``NATIVE_CAP``."""

    kind: str
    size: tuple[int, int] | None = None

    @classmethod
    def parse(cls, text: str) -> CaptureSpec:
        t = text.strip().lower()
        if t in ("model", "native"):
            return cls(t)
        try:
            w, h = parse_size(t.replace("×", "x"))
        except ValueError:
            w = h = 0
        if 16 <= w <= 8192 and 16 <= h <= 8192:
            return cls("fixed", (w, h))
        raise ValueError(
            f"--capture-size must be WxH (e.g. 1280x720, sides 16..8192), 'model' or 'native'; got {text!r}"
        )

    def label(self, model_size: tuple[int, int] | None = None) -> str:
        if self.kind == "fixed" and self.size:
            return f"{self.size[0]}x{self.size[1]}"
        if self.kind == "model" and model_size:
            return f"{model_size[0]}x{model_size[1]} (model input)"
        return f"native (long side <= {NATIVE_CAP})" if self.kind == "native" else self.kind

    def target(self, size: tuple[int, int], model_size: tuple[int, int] | None) -> tuple[int, int] | None:
        """The capture size for a photo of ``size``; None keeps the photo's size."""
        if self.kind == "fixed":
            return self.size
        if self.kind == "model":
            if model_size is None:
                raise ValueError("capture 'model' needs the model's input size")
            return model_size
        w, h = size
        if max(w, h) <= NATIVE_CAP:
            return None
        s = NATIVE_CAP / max(w, h)
        return (max(1, round(w * s)), max(1, round(h * s)))

    def apply(
        self, image: Image.Image, model_size: tuple[int, int] | None = None
    ) -> tuple[Image.Image, bool]:
        """(frame, upscaled): the capture of ``image`` and whether it had to be enlarged."""
        target = self.target(image.size, model_size)
        if target is None:
            return image, False
        w, h = image.size
        tw, th = target
        scale = max(tw / w, th / h)  # cover: the crop keeps the larger scale
        return fit_to_capture(image, target), scale > 1.0
