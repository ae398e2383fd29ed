"""Throughput of EfficientNet-Lite0 feature extraction on the embedded emoji set.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_features.py [--n 64] [--threads 2]

Extracts the penultimate (``_avg_pooling``, 1280-d) and logit layers of ``--n`` images
(rendering + preprocessing included, as in the book), prints images/s for two batch sizes
and the projected time for the whole set (and for the paper's 24,102 THINGS images).
"""

from __future__ import annotations

import argparse
import time

import torch

from dnnalign_utils import features, images


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=64, help="images timed per setting")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    manifest = images.load_manifest()
    rows = manifest.iloc[:: max(1, len(manifest) // args.n)].head(args.n).reset_index(drop=True)
    dataset = images.EmojiImages(rows, features.efficientnet_lite0_preprocess())
    model = features.efficientnet_lite0()
    layers = [features.EFFICIENTNET_LITE0_LAYERS[k] for k in ("penultimate", "logits")]
    features.extract_features(model, dataset, layers, batch_size=8, progress=False)  # warm-up

    t0 = time.perf_counter()
    for i in range(len(dataset)):
        dataset[i]
    render_s = (time.perf_counter() - t0) / len(dataset)
    print(
        f"threads={args.threads}; {len(dataset)} images; rendering+preprocessing "
        f"{1000 * render_s:.1f} ms/image"
    )
    best = None
    for batch_size in (1, 32):
        t0 = time.perf_counter()
        features.extract_features(model, dataset, layers, batch_size=batch_size, progress=False)
        rate = len(dataset) / (time.perf_counter() - t0)
        best = max(best or 0, rate)
        print(f"batch {batch_size:>2}: {rate:6.1f} images/s ({1000 / rate:.1f} ms/image)")
    print(
        f"whole emoji set ({len(manifest)} images): {len(manifest) / best / 60:.1f} min "
        f"projected at the best rate"
    )
    print(f"paper image set (24,102 images): {24102 / best / 60:.1f} min projected")


if __name__ == "__main__":
    main()
