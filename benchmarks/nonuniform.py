"""Non-uniform noise on held-out heads, and real noise from a repeat pair (issue 31).

Run: ``python -m benchmarks run nonuniform [--quick]``. Each protocol at 3, 5 and 9% mean
level (the sigma map's mean over the head, in percent of the brightest tissue's mean) on
two slices of the MNI152 test split (BrainWeb-style T1) and of two real sources that no
training or selection step touched (Colin27; three of the six ANTs example subjects, single
2-D slices); each volume slice comes with its neighbours (independent noise, the same map),
for models that see them. Whole-slice and
brain-mask PSNR / SSIM and seconds a slice per method. Then the real-noise table: the two
EPI repeats of nibabel's ``tests/data/example4d.nii.gz``, scored by the repeat-pair protocol
of NOISE.md. Rows: the classical anchors, the bundled model of before issues 31/32 (a
frozen file, as it was and told the estimated map), the bundled model (one pass, the
default), and a base network read from ``$SKSMOE_NEW_BASE`` with k=1 and no fitted layers
(left out when unset), on which (or on the bundled base) the SMoE against k=1 and other
gates is also measured.
Outputs of the methods that never change (all but the bundled model and the new base) are
kept in ``outputs/benchmark_cache/nonuniform``.
"""

import os
import time

import numpy as np

from sksmoe.decomposition._neighbours import in_slice_order

from ._common import CACHE, markdown_table, write_results

LEVELS = (3, 5, 9)
CONTEXT = 2
#: Protocol -> relative sigma map (mean 1 over the head) of a slice's shape and head mask.
PROTOCOLS = ("uniform", "smooth (BM4D lattice)", "SENSE, 16 coils, R=3")


def _relative_map(protocol, head):
    from sksmoe.datasets import coil_sensitivities, sense_g_factor, smooth_noise_map

    if protocol == "uniform":
        return np.ones(head.shape)
    if protocol.startswith("smooth"):
        return smooth_noise_map(head.shape, "bm4d", mask=head)
    g = sense_g_factor(coil_sensitivities(head.shape, 16), 3)
    return g / g[head].mean()


def _heads(quick):
    """Held-out sets: name -> list of (clean slab (1 + 2 CONTEXT, H, W), nearest neighbours
    first, brain mask, noise reference)."""
    from sksmoe.datasets import load_mni152, load_real_slices, mni152_contrast
    from sksmoe.datasets._make import mni152_slice_splits
    from sksmoe.datasets._real import _brightest_tissue_mean, real_volume
    from sksmoe.metrics import brain_mask
    from sksmoe.training._slabs import neighbours

    sets = {}
    volume, reference = mni152_contrast("T1")
    volume, mask = np.moveaxis(volume, 2, 0), np.moveaxis(load_mni152().mask, 2, 0)
    test = mni152_slice_splits()["test"]
    picks = test[len(test) // 2: len(test) // 2 + 1] if quick else test[:: len(test) // 2][:2]
    sets["MNI152 T1 test split"] = [(neighbours(volume, z, CONTEXT), mask[z], reference)
                                    for z in picks]
    if quick:
        return sets
    colin = real_volume("colin27")[0]
    colin /= colin.max()
    sets["Colin27"] = []
    for z in (70, 110):
        slab = neighbours(colin, z, CONTEXT)
        head = brain_mask(slab[0])
        sets["Colin27"].append((slab, head, _brightest_tissue_mean(slab[0], head)))
    ants = load_real_slices("ants-slices")
    sets["ANTs subjects (2-D)"] = [(image[None], head, _brightest_tissue_mean(image, head))
                                   for image, head in zip(ants.images[::3], ants.mask[::3])]
    return sets


def _methods(new_base):
    """Method name -> ``denoise(noisy_slab, true_map, estimated_map) -> slice``."""
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline, make_pipeline

    import sksmoe
    from sksmoe import PatchDecomposer, SparseMoEDenoiser

    from ._methods import _ants, bm3d, frozen_model, installed

    def on_map(image, sigma_map):  # BM3D on y / sigma: unit noise, then scaled back
        return bm3d(image / sigma_map, 1.0) * sigma_map

    today = frozen_model()  # the bundled file before issues 31/32 as it was (noise="level")
    bundled = sksmoe.load_pretrained()
    fitted = sksmoe.moe.unwrapped(today)
    fast_map = Pipeline([(fitted.steps[0][0], clone(fitted[0]).set_params(noise="map")),
                         *fitted.steps[1:]])
    methods = {
        "noisy": lambda y, true, est: y[0],
        "BM3D, head-mean true sigma": lambda y, true, est: bm3d(y[0], float(true.mean())),
        "BM3D on y / true map (oracle)": lambda y, true, est: on_map(y[0], true),
        "BM3D on y / estimated map": lambda y, true, est: on_map(y[0], est),
        "dipy nlmeans, true map": _nlmeans,
        "ANTs denoise_image": lambda y, true, est: _ants(y[0], None),
        "today's model (frozen file)": lambda y, true, est: today.predict(y[:1])[0],
        "today's model told the map, one pass": lambda y, true, est: fast_map.predict(
            y[:1])[0],
        "bundled model, one pass (default)": lambda y, true, est: bundled.predict(
            in_slice_order(y[None]))[0],
    }
    methods = installed(methods, {"ANTs": "ants", "BM3D": "bm3d"})
    if new_base:
        single = make_pipeline(PatchDecomposer(), SparseMoEDenoiser(
            base=new_base, n_experts=1, fine_tune="none"))
        dummy = np.zeros((1, 64, 64), np.float32)
        single.fit(dummy, dummy)

        def with_neighbours(y, true, est):
            return single.predict(in_slice_order(y[None]))[0]

        methods["new base (map + neighbours), k=1"] = with_neighbours
    return methods


def _nlmeans(y, true, est):
    from dipy.denoise.nlmeans import nlmeans

    return nlmeans(y[0][..., None].astype(np.float64), sigma=true[..., None],
                   rician=True)[..., 0]


def _noisy_sets(sets, protocols, levels, seed=0):
    """Per set: a list of (noisy slab, clean slice, head, true map, estimated map, key)."""
    from sksmoe.datasets import add_rician_noise
    from sksmoe.noise import estimate_noise_map

    rng = np.random.default_rng(seed)
    out = {}
    for name, slabs in sets.items():
        out[name] = []
        for slab, head, reference in slabs:
            for protocol in protocols:
                relative = _relative_map(protocol, head)
                for level in levels:
                    true = (level / 100 * reference * relative).astype(np.float32)
                    noisy = add_rician_noise(slab, np.broadcast_to(true, slab.shape),
                                             random_state=rng).astype(np.float32)
                    out[name].append((noisy, slab[0], head, true,
                                      estimate_noise_map(noisy[0]), f"{protocol} {level}%"))
    return out


def _score(rows, images, clean, heads, keys):
    from sksmoe.metrics import psnr, ssim

    images, clean, heads, keys = map(np.asarray, (images, clean, heads, keys))
    for key in dict.fromkeys(keys):
        pick = keys == key
        rows[str(key)] = {
            "psnr": float(psnr(clean[pick], images[pick]).mean()),
            "brain_psnr": float(psnr(clean[pick], images[pick], heads[pick]).mean()),
            "ssim": float(ssim(clean[pick], images[pick]).mean()),
            "brain_ssim": float(ssim(clean[pick], images[pick], heads[pick]).mean())}


def _repeat_pair(methods):
    """Real-noise rows: noise2noise PSNR of each method on the example4d repeat pair."""
    import nibabel as nib

    from sksmoe.metrics import brain_mask
    from sksmoe.noise import estimate_noise_map, estimate_sigma

    from ._methods import bm3d

    path = os.path.join(os.path.dirname(nib.__file__), "tests", "data", "example4d.nii.gz")
    series = np.asarray(nib.load(path).dataobj, dtype=np.float32)
    pair = [np.moveaxis(series[..., t], 2, 0) for t in range(2)]  # axial slices first
    head = brain_mask((pair[0] + pair[1]) / 2 / series.max())
    peak = float(((pair[0] + pair[1]) / 2).max())
    keep = head.sum(axis=(1, 2)) > 0.05 * head[0].size
    results = {}
    methods = dict(methods)
    for factor in (0.5, 0.75, 1.0, 1.5, 2.0):  # BM3D's best sigma is one of these
        methods[f"BM3D, estimated sigma x {factor:g}"] = (
            lambda y, level, est, factor=factor: bm3d(y[0], factor * float(level.mean())))
    for name, denoise in methods.items():
        scores, start = [], time.perf_counter()
        for a, b in (pair, pair[::-1]):
            out = np.stack([denoise(_volume_slab(a, z), np.full(a[z].shape, estimate_sigma(
                a[z]), np.float32), estimate_noise_map(a[z])) for z in np.flatnonzero(keep)])
            a_, b_, h = a[keep], b[keep], head[keep]
            mse = ((out - b_)[h] ** 2).mean() - ((a_ - b_)[h] ** 2).mean() / 2
            scores.append(10 * np.log10(peak**2 / mse))
        results[name] = {"psnr": float(np.mean(scores)),
                         "seconds_per_slice": (time.perf_counter() - start) / (2 * keep.sum())}
    return results


def _gate_rows(new_base, data, quick):
    """SMoE against k=1 and against random and fixed gates on non-uniform noise: pipelines
    on the new base fitted on template train-split slabs under every protocol and level,
    scored on the held-out sets (brain-mask and whole-slice PSNR, mean over their
    protocols and levels)."""
    from sklearn.pipeline import make_pipeline

    from sksmoe import EmbeddingPCA, PatchDecomposer, SliceNeighbours, SparseMoEDenoiser
    from sksmoe.datasets import load_mni152, mni152_contrast
    from sksmoe.datasets._make import mni152_slice_splits
    from sksmoe.metrics import psnr
    from sksmoe.training._slabs import neighbours

    mask = np.moveaxis(load_mni152().mask, 2, 0)
    train = mni152_slice_splits()["train"]
    slabs = []
    for contrast in ("T1", "T2"):
        volume, reference = mni152_contrast(contrast)
        volume = np.moveaxis(volume, 2, 0)
        slabs += [(neighbours(volume, z, CONTEXT), mask[z], reference)
                  for z in train[:: len(train) // (1 if quick else 4)][: 1 if quick else 4]]
    fit_set = _noisy_sets({"train": slabs}, PROTOCOLS[:2] if quick else PROTOCOLS,
                          (5,) if quick else LEVELS, seed=1)["train"]
    rows = in_slice_order(np.stack([noisy for noisy, *_ in fit_set]))
    clean = np.stack([c for _, c, *_ in fit_set])

    def pipe(k):
        return make_pipeline(SliceNeighbours(context=CONTEXT), PatchDecomposer(),
                             EmbeddingPCA(), SparseMoEDenoiser(
                                 base=new_base, n_experts=k, noise_bands=2, random_state=0))

    models = {k: pipe(k).fit(rows, clean) for k in (1, 4)}
    variants = {"k=1 (x 2 noise bands)": (models[1], None),
                "SMoE k=4 (x 2 noise bands), k-means gate": (models[4], None),
                "SMoE k=4, random gate": (models[4], "random"),
                **{f"SMoE k=4, every region to expert {e}": (models[4], e) for e in range(4)}}
    results = {}
    for name, images in data.items():
        test = in_slice_order(np.stack([noisy for noisy, *_ in images]))  # 2-D: one slice
        clean, heads = np.stack([c for _, c, *_ in images]), np.stack([h for _, _, h, *_ in
                                                                      images])
        for variant, (model, gate) in variants.items():
            regions = model[:-1].transform(test)
            out = model[-1].predict(regions, gate=gate)
            results.setdefault(variant, {})[name] = {
                "brain_psnr": float(psnr(clean, out, heads).mean()),
                "psnr": float(psnr(clean, out).mean())}
    return results


def _volume_slab(volume, z):
    from sksmoe.training._slabs import neighbours

    return neighbours(volume, z, CONTEXT)


def main(argv=None):
    from joblib import Memory

    from ._common import is_quick

    quick = is_quick(argv, __doc__)
    protocols, levels = (PROTOCOLS[:2], (5,)) if quick else (PROTOCOLS, LEVELS)
    new_base = os.environ.get("SKSMOE_NEW_BASE")
    methods = _methods(new_base)
    memory = Memory(CACHE / "nonuniform", verbose=0)
    data = _noisy_sets(_heads(quick), protocols, levels)
    results, lines = {"sets": {}, "repeat_pair": {}}, []
    for name, images in data.items():
        noisy, clean, heads, true, est, keys = zip(*images)
        rows = results["sets"][name] = {}
        for method, denoise in methods.items():
            start = time.perf_counter()
            changes = method.startswith(("bundled", "new base"))  # with the bundled files
            cached = _run if changes else memory.cache(_run, ignore=["denoise"])
            out = cached(method, denoise, noisy, true, est)
            rows[method] = {"seconds_per_slice": (time.perf_counter() - start) / len(noisy)}
            _score(rows[method], out, clean, heads, keys)
            print(f"{name} / {method}: done", flush=True)
        columns = list(dict.fromkeys(keys))
        for metric, label in (("brain_psnr", "brain-mask PSNR"), ("psnr", "whole-slice PSNR")):
            lines += [f"\n## {name}: {label} (dB) / SSIM\n", markdown_table(
                ["method", *columns, "s/slice"],
                [[method, *[f"{row[c][metric]:.2f} / {row[c][metric.replace('psnr', 'ssim')]:.4f}"
                            for c in columns], f"{row['seconds_per_slice']:.2f}"]
                 for method, row in rows.items()])]
    gates = results["gates"] = _gate_rows(new_base or "bundled", data, quick)
    sets = list(data)
    lines += ["\n## SMoE against k=1 and other gates, on the new base (or the bundled one; "
              "brain-mask / whole-slice PSNR, dB, mean over protocols and levels)\n",
              markdown_table(["pipeline", *sets],
                             [[v, *[f"{row[s]['brain_psnr']:.2f} / {row[s]['psnr']:.2f}"
                                    for s in sets]] for v, row in gates.items()])]
    if not quick:
        pair = results["repeat_pair"] = _repeat_pair(
            {k: v for k, v in methods.items() if not k.startswith(("BM3D", "dipy"))})
        lines += ["\n## Real noise: nibabel example4d repeat pair (noise2noise PSNR, dB)\n",
                  markdown_table(["method", "PSNR", "s/slice"],
                                 [[k, f"{v['psnr']:.2f}", f"{v['seconds_per_slice']:.2f}"]
                                  for k, v in pair.items()])]
    head = ("# Non-uniform noise\n\n" + __doc__.split("\n\n")[1].replace("\n", " ")
            + f"\n\nNew base: {new_base or 'not given'}.\n")
    write_results("nonuniform", head + "\n".join(lines), results, quick)


def _run(method, denoise, noisy, true, est):
    return np.stack([denoise(y, t, e) for y, t, e in zip(noisy, true, est)]).astype(np.float32)
