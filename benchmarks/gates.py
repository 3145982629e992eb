"""Table 4: gate ablation, and the expert maps of each decomposition (the paper's Fig. 5).

Run: ``python -m benchmarks run gates [--quick]``. The SMoE models of ``compare`` (same
training data, k chosen on validation; fits are cached) predict the held-out slices with
every region sent to expert j (one row per j), to a random expert, or to the expert the
k-means gate predicts. Writes ``results/gates.{md,json}`` and ``gates_expert_maps.png``.
"""

from ._common import (TEST_LEVELS, figure_path, is_quick, score, table, test_sets,
                      training_data, write_results)
from ._figures import expert_maps
from ._methods import fit_learned


def main(argv=None):
    quick = is_quick(argv, __doc__)

    models, info = fit_learned(*training_data(quick), quick)
    sets = dict(list(test_sets(quick).items())[:2])
    results, maps = {}, {}
    lines = ["# Gate ablation (Table 4)", "",
             "Cells: brain-mask PSNR dB mean ± std / SSIM. `expert j`: every region goes to "
             "expert j; `random`: a random expert per region; `predicted`: the k-means gate "
             "on the region embeddings (the model as fitted).", ""]
    for decomposition, k in info["chosen_k"].items():
        model = models[f"SMoE {decomposition}, k={k}"]
        features, denoiser = model[:-1], model[-1]
        gates = {f"expert {j}": j for j in range(k)} | {"random": "random", "predicted": None}
        for set_name, data in sets.items():
            levels = [lv for lv in TEST_LEVELS if (data.meta.noise_percent == lv).any()]
            regions = features.transform(data.noisy)
            rows = {name: {"scores": score(data, denoiser.predict(regions, gate=gate), levels)}
                    for name, gate in gates.items()}
            results.setdefault(decomposition, {})[set_name] = rows
            lines += [f"## SMoE {decomposition}, k={k}: {set_name}", "",
                      table(rows, levels, extra=()), ""]
            if set_name.startswith("BrainWeb"):
                middle = len(data.noisy) // 2
                maps[f"{decomposition}, k={k}"] = denoiser.predict_gate(
                    regions[middle:middle + 1])[0]
                shown = data.noisy[middle]
    path = expert_maps(figure_path("gates_expert_maps", quick), shown, maps,
                       "Expert of each pixel (majority of the regions covering it)")
    lines += [f"![expert maps]({path.name})", ""]
    write_results("gates", "\n".join(lines), results, quick)
    return 0


if __name__ == "__main__":
    main()
