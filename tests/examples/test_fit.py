from ember.examples import fit


def test_fit_learns_the_sine(capsys):
    clean_mse = fit.main(["--steps", "400"])
    out = capsys.readouterr().out
    losses = [float(line.split("loss")[1]) for line in out.splitlines() if line.startswith("step")]
    assert losses[-1] < losses[0] / 10, f"loss did not fall: {losses}"
    assert clean_mse < 0.01  # the noise variance is 0.01: the fit is closer to the true curve than the data
