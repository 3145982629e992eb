"""Does the gate's embedding matter? SMoE Patch k=4 on the bundled base with different gates.

Run: ``python -m benchmarks.embedding_choice [--quick]``. Fits on the BrainWeb-style train
split (T1, paper protocol, every 3rd slice) and scores brain-mask PSNR on the validation
split (choices are made on validation, never on test). Rows: k-means on MobileNetV2 features
pooled from one pass per image (default), k-means on per-crop MobileNetV2 features (the
paper's way), random gate, HydraNet-style position gate, and k=1. Writes
``benchmarks/results/embedding_choice.md``.
"""

import argparse
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def main(argv=None):
    from sklearn.pipeline import make_pipeline

    from sksmoe import EmbeddingPCA, PatchDecomposer, SparseMoEDenoiser
    from sksmoe.datasets import make_brainweb_dataset
    from sksmoe.metrics import psnr

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    data = make_brainweb_dataset("T1", slice_step=12 if args.quick else 3, random_state=0)
    train, val = data.train, data.validation
    rows = {
        "k=4, k-means on pooled MobileNetV2 (default)":
            (EmbeddingPCA(mode="image"), dict(n_experts=4)),
        "k=4, k-means on per-crop MobileNetV2 (paper)":
            (EmbeddingPCA(mode="crop"), dict(n_experts=4)),
        "k=4, random gate": (None, dict(n_experts=4, gating="random")),
        "k=3, position gate (HydraNet-style)": (None, dict(n_experts=3, gating="position")),
        "k=1": (None, dict(n_experts=1)),
    }
    levels = val.meta.noise_percent.to_numpy()
    lines = ["# Gate embedding choice", "",
             f"Validation brain-mask PSNR (dB), {len(train.noisy)} training and "
             f"{len(val.noisy)} validation T1 images, base: the bundled base network.", "",
             "| gate | " + " | ".join(f"{p:g}%" for p in sorted(set(levels)))
             + " | mean | fit s |", "|---" * (len(set(levels)) + 3) + "|"]
    for name, (embedding, params) in rows.items():
        steps = [PatchDecomposer()] + ([embedding] if embedding is not None else [])
        model = make_pipeline(*steps, SparseMoEDenoiser(random_state=0, **params))
        start = time.perf_counter()
        model.fit(train.noisy, train.clean)
        seconds = time.perf_counter() - start
        scores = psnr(val.clean, model.predict(val.noisy), val.mask)
        cells = [f"{scores[levels == p].mean():.2f}" for p in sorted(set(levels))]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {scores.mean():.3f} | "
                     f"{seconds:.0f} |")
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "embedding_choice.md").write_text(text)


if __name__ == "__main__":
    main()
