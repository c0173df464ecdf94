"""
# From a CSV to a report on the command line

Everything on the other pages is also a shell command. This page writes Gadre et al.'s runs
to a CSV file, as a team's own runs would arrive, and goes from that file to a posterior, a
prediction, a frontier and a report, each step one `bayescale` command (run here through
Python's `subprocess`, so that the page can show what each one prints).
"""

# %%
# ## The CSV
# One row per run: model size, tokens, loss, and the training dataset as a group column.
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib.image as mpimg
from matplotlib.figure import Figure

import bayescale as bs

work = Path(tempfile.mkdtemp())
runs = bs.datasets.load("gadre2024_overtraining")
runs[["family", "params", "tokens", "loss"]].to_csv(work / "runs.csv", index=False)
print("\n".join((work / "runs.csv").read_text().splitlines()[:4]))


def bayescale(*args: str) -> None:
    """Run one ``bayescale`` command in the working folder and show what it prints."""
    print("$ bayescale " + " ".join(args))
    done = subprocess.run(
        [sys.executable, "-m", "bayescale", *args], cwd=work, capture_output=True, text=True
    )
    print(done.stdout.rstrip())
    if done.returncode != 0:
        raise RuntimeError(done.stderr)


# %%
# ## Fit
# The Chinchilla law with the irreducible loss varying by training dataset. The command
# checks the table before any work (missing columns, non-positive sizes, NaN), and writes the
# posterior as NetCDF, a summary table and a figure. With `--quiet` it prints the diagnostics
# and what it wrote; without, each phase and the posterior summary too. `--draws 3000`: the
# scale of three datasets' effects is a funnel, and with the default 1000 draws per chain its
# R-hat and ESS sat near their bars (R-hat 1.014 and tail ESS 201 on one CPU, passing on
# another). Four chains of 3000 passed with R-hat 1.002 and ESS above 1100.
bayescale(
    "fit",
    "runs.csv",
    "--effects",
    "E=family",
    "--draws",
    "3000",
    "--seed",
    "0",
    "--quiet",
    "--out",
    "fit",
)

# %%
# ## Predict and plan
# A 6.9B model on 138B tokens of RedPajama, and the compute-optimal frontier at two budgets
# with the chance of reaching a loss of 3.0.
bayescale("predict", "fit/fit.nc", "--N", "6.9e9", "--D", "1.38e11", "--group", "family=rpj")
bayescale("frontier", "fit/fit.nc", "--compute", "1e22", "1e23", "--target", "3.0")

# %%
# ## Report
# `report` writes an HTML page with every figure embedded, a Markdown copy, the parameter
# table as LaTeX and CSV, and each figure as PNG and PDF.
bayescale("report", "fit/fit.nc", "--out", "report", "--target-compute", "1e23", "--quiet")
print(sorted(p.name for p in (work / "report").iterdir()))

# %%
# Three of the report's figures, as a reader of the report sees them: the fit by dataset,
# the extrapolation fan to the target budget, and the ladder's own extrapolation record.
figures = []
for name in ("fit.png", "fan.png", "record.png"):
    image = mpimg.imread(work / "report" / name)
    height, width = image.shape[:2]
    fig = Figure(figsize=(10, 10 * height / width), layout="constrained")
    ax = fig.subplots()
    ax.imshow(image)
    ax.axis("off")
    figures.append(fig)
