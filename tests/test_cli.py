import re
import subprocess
import sys

from sksmoe.cli import main


def test_import_is_lazy():
    code = "import sys, sksmoe; print(sorted(m for m in ('torch', 'sklearn', 'nilearn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_demo_denoises_and_writes_png(tmp_path, capsys):
    out = tmp_path / "demo.png"
    assert main(["demo", "--output", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = capsys.readouterr().out
    rows = {line.split()[0]: [float(v) for v in re.findall(r"\d+\.\d+", line)]
            for line in text.splitlines() if line.startswith(("noisy", "NL-means"))}
    assert rows["NL-means"][0] > rows["noisy"][0] + 3  # brain PSNR, dB
    assert rows["NL-means"][1] > rows["noisy"][1]  # brain SSIM


def test_demo_reports_bad_input(tmp_path, capsys):
    assert main(["demo", "--output", str(tmp_path / "x.png"), "--slice", "500"]) == 2
    assert "slice" in capsys.readouterr().err
    assert main(["demo", "--output", str(tmp_path / "missing" / "x.png")]) == 2
