"""fit_strategy end to end: a valid strategy that encodes, reproducibly, with provenance."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")
from grace_fit_models import Classifier, Segmenter, ZooLike, images  # noqa: E402

import pillow_grace  # noqa: E402
from pillow_grace import Strategy  # noqa: E402
from pillow_grace.core import tables  # noqa: E402
from pillow_grace.core.errors import StrategyError  # noqa: E402
from pillow_grace.fit import fit_strategy, image_fingerprint  # noqa: E402

VOLATILE = ("date", "elapsed_s")


pytestmark = pytest.mark.slow  # fits models end to end (the quick run skips it)


def _stable(s: Strategy) -> dict:  # type: ignore[type-arg]
    d = s.to_dict()
    d.pop("content_hash")
    for k in VOLATILE:
        d["provenance"].pop(k)
    return d


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return images(3, (64, 48), seed=11)


@pytest.fixture(scope="module")
def fitted(frames: list[np.ndarray]) -> Strategy:
    # validate=False: these tests pin the allocation's mechanics; the measured
    # selection (and its JPEG fallback) has tests of its own (test_select.py).
    return fit_strategy(Classifier(classes=20), frames, name="tiny-fit", model_input_size=(32, 32),
                        validate=False)


def test_fitted_strategy_validates_round_trips_and_encodes(fitted: Strategy,
                                                           frames: list[np.ndarray]) -> None:
    again = Strategy.from_dict(fitted.to_dict())
    assert again == fitted and again.content_hash == fitted.content_hash
    assert Strategy.from_json(fitted.to_json()) == fitted
    assert fitted.probe_resolution == (64, 48) and fitted.model_input_size == (32, 32)
    assert fitted.allocation is not None and fitted.allocation.method == "empirical"  # the default
    assert fitted.allocation.quality == tables.DEFAULT_QUALITY
    assert fitted.perception is not None and fitted.perception.rate_distortion is not None
    assert fitted.version == (1, 2)
    # The stored tables are what the allocation gives for the stored parameter.
    assert fitted.tables == tables.derive_tables(fitted.perception, "empirical", fitted.allocation.parameter)

    buf = io.BytesIO()
    pillow_grace.encode(Image.fromarray(frames[0]), buf, fitted, quality=90)
    data = buf.getvalue()
    assert data[:2] == b"\xff\xd8" and b"GRACE\x00" in data
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "GRACE" and im.size == (64, 48)
        im.load()
        assert im.mode == "RGB"


def test_provenance_records_the_fit(fitted: Strategy, frames: list[np.ndarray]) -> None:
    p = fitted.provenance
    assert p["probe_images"] == 3
    assert list(p["probe_image_sha256"]) == [image_fingerprint(f) for f in frames]
    assert p["probe_image_sha256"][0] == __import__("hashlib").sha256(frames[0].tobytes()).hexdigest()
    assert p["loss"] == "sampled" and p["label_samples"] == 4 and p["colour_median"] == "weighted"
    assert p["seed"] == 0 and p["library_version"] == pillow_grace.__version__
    assert p["torch_version"] == torch.__version__ and p["date"].endswith("+00:00")
    assert p["elapsed_s"] > 0 and isinstance(p["weights_clamped"], bool)
    assert "model" not in p  # a plain module has no zoo name for the benchmark to look up


def test_fit_is_deterministic_for_a_seed(frames: list[np.ndarray], fitted: Strategy) -> None:
    again = fit_strategy(Classifier(classes=20), frames, name="tiny-fit", model_input_size=(32, 32),
                         validate=False)
    assert _stable(again) == _stable(fitted)
    other = fit_strategy(Classifier(classes=20), frames, name="tiny-fit", model_input_size=(32, 32), seed=1,
                         validate=False)
    assert other.perception.grad_sq_mean != fitted.perception.grad_sq_mean  # labels really are sampled
    assert other.perception.coef_abs_mean == fitted.perception.coef_abs_mean


def test_options_are_recorded(frames: list[np.ndarray]) -> None:
    s = fit_strategy(Classifier(), frames, name="opts", allocation="paper", quality=40, loss="argmax",
                     colour_median="plain", subsampling="4:2:0", label_samples=2, validate=False,
                     weights="theorem2")
    assert s.allocation.method == "paper" and s.allocation.quality == 40
    assert s.subsampling == "4:2:0"
    assert s.provenance["loss"] == "argmax" and s.provenance["label_samples"] == 1
    assert s.provenance["colour_median"] == "plain"
    t = fit_strategy(Classifier(), frames, name="fixed", weights=(0.3, 0.5, 0.2), tradeoff=1e7)
    assert t.weights == pytest.approx((0.3, 0.5, 0.2)) and t.provenance["colour_median"] == "fixed"
    assert t.allocation.parameter == 1e7 and t.allocation.quality is None


def test_zoo_like_models_and_capture_size() -> None:
    zoo = ZooLike("tiny-zoo", "classification", (32, 24), Classifier(classes=5))
    pil = [Image.fromarray(f) for f in images(2, (80, 50), seed=12)]
    s = fit_strategy(zoo, pil, name="zoo-fit", capture_size=(40, 32))
    assert s.model_input_size == (32, 24) and s.probe_resolution == (40, 32)
    assert s.description == "tiny zoo-like test model" and s.provenance["model"] == "tiny-zoo"

    seg = ZooLike("tiny-seg", "segmentation", (16, 16), Segmenter())
    assert fit_strategy(seg, images(1, (32, 24)), name="seg-fit").task == "segmentation"

    def loss(out: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        return ((out - clean.argmax(1, keepdim=True).float()) ** 2).mean()

    det = ZooLike("tiny-det", "detection", (16, 16), Classifier(), loss=loss)
    d = fit_strategy(det, images(1, (32, 24)), name="det-fit")
    assert d.task == "detection" and d.provenance["loss"].startswith("custom:")


def test_training_mode_is_restored_and_model_untouched(frames: list[np.ndarray]) -> None:
    model = Classifier()
    model.train()
    before = [p.detach().clone() for p in model.parameters()]
    fit_strategy(model, frames[:1], name="train-mode")
    assert model.training
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert all(p.grad is None for p in model.parameters())


def test_bad_arguments_fail_before_probing(frames: list[np.ndarray]) -> None:
    class Exploding(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise AssertionError("the model must not run")

    m = Exploding()
    with pytest.raises(StrategyError, match="name"):
        fit_strategy(m, frames, name="bad name!")
    with pytest.raises(ValueError, match="allocation"):
        fit_strategy(m, frames, name="x", allocation="jpeg")
    with pytest.raises(ValueError, match="loss"):
        fit_strategy(m, frames, name="x", loss="mse")
    with pytest.raises(ValueError, match="quality or tradeoff"):
        fit_strategy(m, frames, name="x", quality=50, tradeoff=1.0)
    with pytest.raises(ValueError, match="colour_median"):
        fit_strategy(m, frames, name="x", colour_median="mean")
    with pytest.raises(ValueError, match="needs loss"):
        fit_strategy(m, frames, name="x", task="detection")
    with pytest.raises(ValueError, match="different sizes"):
        fit_strategy(m, [frames[0], images(1, (32, 32))[0]], name="x")
    with pytest.raises(TypeError, match="uint8"):
        fit_strategy(m, [frames[0] / 255.0], name="x")
    with pytest.raises(ValueError, match="empty"):
        fit_strategy(m, [], name="x")


def test_image_fingerprint_is_pixel_data_only() -> None:
    f = images(1, (20, 10))[0]
    im = Image.fromarray(f)
    assert image_fingerprint(im) == image_fingerprint(f) == image_fingerprint(im.convert("RGBA"))
    png = io.BytesIO()
    im.save(png, "PNG")
    assert image_fingerprint(Image.open(png)) == image_fingerprint(f)
    g = f.copy()
    g[0, 0, 0] ^= 1
    assert image_fingerprint(g) != image_fingerprint(f)
    # The documented definition: SHA-256 of the RGB samples, row-major, as lower-case hex.
    assert image_fingerprint(f) == hashlib.sha256(np.ascontiguousarray(f).tobytes()).hexdigest()
