"""Tests for dnnalign_utils.regression against scikit-learn and slow explicit loops."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold

from dnnalign_utils import regression as reg
from dnnalign_utils.provenance import read_provenance

GRID = np.logspace(-2, 3, 12)


def _data(n=48, p=6, t=3, noise=1.5, seed=0):
    """Uncentred inputs with correlated columns and noisy linear targets."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) @ rng.normal(size=(p, p)) + rng.normal(3.0, 2.0, size=p)
    Y = X @ rng.normal(size=(p, t)) + 5.0 + noise * rng.normal(size=(n, t))
    return X, Y


def _slow_cv_scores(X, y, grid, n_splits, seed):
    """Mean over folds of each fold's R², one sklearn Ridge per (fold, alpha)."""
    scores = np.zeros(len(grid))
    for train, val in KFold(n_splits, shuffle=True, random_state=seed).split(X):
        for a, alpha in enumerate(grid):
            model = Ridge(alpha=alpha).fit(X[train], y[train])
            scores[a] += r2_score(y[val], model.predict(X[val])) / n_splits
    return scores


def test_fit_ridge_equals_sklearn_ridge_with_centring_multi_target():
    X, Y = _data(p=10, t=4)
    model = reg.fit_ridge(X, Y, 7.5)
    sk = Ridge(alpha=7.5).fit(X, Y)
    np.testing.assert_allclose(model.coef, sk.coef_.T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.x_mean, X.mean(axis=0))
    np.testing.assert_allclose(model.intercept, Y.mean(axis=0))
    X_new = _data(n=9, p=10, seed=5)[0]
    np.testing.assert_allclose(model.predict(X_new), sk.predict(X_new), rtol=1e-10)
    assert model.coef.dtype == np.float64 and model.coef.shape == (10, 4)


def test_fit_ridge_per_target_alpha_and_more_features_than_samples():
    X, Y = _data(n=15, p=40, t=3)
    alphas = [0.5, 20.0, 300.0]
    model = reg.fit_ridge(X, Y, alphas)
    for j, alpha in enumerate(alphas):
        sk = Ridge(alpha=alpha).fit(X, Y[:, j])
        np.testing.assert_allclose(model.coef[:, j], sk.coef_, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(model.predict(X)[:, j], sk.predict(X), rtol=1e-9)
    np.testing.assert_array_equal(model.alphas, alphas)


def test_cv_scores_and_alpha_selection_equal_slow_sklearn_loop():
    X, Y = _data(t=3, noise=4.0)
    scores = reg.cv_r2_scores(X, Y, GRID, n_splits=3, seed=1)
    for j in range(Y.shape[1]):
        slow = _slow_cv_scores(X, Y[:, j], GRID, 3, 1)
        np.testing.assert_allclose(scores[:, j], slow, rtol=1e-9, atol=1e-12)
    model = reg.fit_ridge_cv(X, Y, GRID, n_splits=3, seed=1)
    expected = np.array([GRID[np.argmax(_slow_cv_scores(X, y, GRID, 3, 1))] for y in Y.T])
    np.testing.assert_array_equal(model.alphas, expected)
    assert len(set(model.alphas)) > 1  # the test exercises different alphas per target


def test_final_refit_equals_sklearn_ridge_with_chosen_alphas():
    X, Y = _data(t=3, noise=4.0)
    model = reg.fit_ridge_cv(X, Y, GRID, n_splits=4, seed=3)
    for j in range(Y.shape[1]):
        sk = Ridge(alpha=model.alphas[j]).fit(X, Y[:, j])
        np.testing.assert_allclose(model.coef[:, j], sk.coef_, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(
            model.intercept[j] - model.x_mean @ model.coef[:, j], sk.intercept_, rtol=1e-9
        )
    np.testing.assert_array_equal(model.alpha_grid, GRID)


def test_nested_cv_equals_slow_explicit_loop():
    X, Y = _data(n=40, t=3, noise=4.0, seed=2)
    result = reg.nested_cv_ridge(X, Y, GRID, n_outer=3, n_inner=3, progress=False)
    outer = KFold(3, shuffle=True, random_state=0)
    predictions = np.empty_like(Y)
    for j in range(Y.shape[1]):
        fold_r2 = []
        for fold, (train, test) in enumerate(outer.split(X)):
            inner = _slow_cv_scores(X[train], Y[train, j], GRID, 3, 1)
            alpha = GRID[np.argmax(inner)]
            assert result.alphas[fold, j] == alpha
            np.testing.assert_allclose(result.inner_r2[fold, :, j], inner, rtol=1e-9)
            model = Ridge(alpha=alpha).fit(X[train], Y[train, j])
            predictions[test, j] = model.predict(X[test])
            fold_r2.append(r2_score(Y[test, j], predictions[test, j]))
            assert np.all(result.test_fold[test] == fold)
        np.testing.assert_allclose(result.r2_folds[:, j], fold_r2, rtol=1e-9)
        np.testing.assert_allclose(result.r2[j], np.mean(fold_r2), rtol=1e-9)
    np.testing.assert_allclose(result.predictions, predictions, rtol=1e-9)
    pooled = r2_score(Y, predictions, multioutput="raw_values")
    np.testing.assert_allclose(result.r2_pooled, pooled, rtol=1e-9)
    # the final model is the same as a separate CV-on-all-rows fit
    final = reg.fit_ridge_cv(X, Y, GRID, n_splits=3, seed=1)
    np.testing.assert_array_equal(result.final_model.alphas, final.alphas)
    np.testing.assert_allclose(result.final_model.coef, final.coef)


def test_reported_alpha_edges():
    X, Y = _data(n=60, t=2, noise=0.01)
    # nearly noiseless data: the smallest penalty wins in every fold
    result = reg.nested_cv_ridge(X, Y, [1e2, 1e3, 1e4], progress=False)
    assert result.edge_shares == {"lower": 1.0, "upper": 0.0}
    assert reg.alpha_edge_shares([3.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == {
        "lower": 0.25,
        "upper": 0.5,
    }


def test_recovery_of_known_linear_map_and_pure_noise():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(300, 8)) + 2.0
    B = rng.normal(size=(8, 4))
    Y = X @ B - 1.0 + 0.01 * rng.normal(size=(300, 4))
    grid = np.logspace(-6, 4, 21)
    result = reg.nested_cv_ridge(X, Y, grid, progress=False)
    assert np.all(result.r2 > 0.999) and np.all(result.r2_pooled > 0.999)
    np.testing.assert_allclose(result.final_model.coef, B, atol=0.01)
    np.testing.assert_allclose(result.final_model.predict(X), X @ B - 1.0, atol=0.01)

    noise = rng.normal(size=(300, 4))
    null = reg.nested_cv_ridge(X, noise, grid, progress=False)
    assert np.all(null.r2 <= 0.02) and np.all(null.r2_pooled <= 0.02)
    assert np.all(null.r2 > -0.2)


def test_seed_reproducible_and_changes_folds():
    X, Y = _data(n=45, t=2, noise=4.0)
    a = reg.nested_cv_ridge(X, Y, GRID, progress=False)
    b = reg.nested_cv_ridge(X, Y, GRID, progress=False)
    c = reg.nested_cv_ridge(X, Y, GRID, outer_seed=5, progress=False)
    np.testing.assert_array_equal(a.r2_folds, b.r2_folds)
    np.testing.assert_array_equal(a.test_fold, b.test_fold)
    assert not np.array_equal(a.test_fold, c.test_fold)


def test_save_load_round_trip_with_provenance(tmp_path):
    X, Y = _data(t=3)
    model = reg.fit_ridge_cv(X, Y, GRID)
    path = model.save(tmp_path / "ridge.npz", parameters={"layer": "fc7"})
    assert path == tmp_path / "ridge.npz" and path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ridge.npz", "ridge.npz.provenance.json"]
    loaded = reg.FittedRidge.load(path)
    for name in ("coef", "intercept", "x_mean", "alphas", "alpha_grid"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    record = read_provenance(path)
    assert record["parameters"]["layer"] == "fc7"
    assert record["parameters"]["n_targets"] == 3
    json.dumps(record)


def test_load_rejects_a_foreign_npz(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, coef=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"other\.npz.*missing arrays"):
        reg.FittedRidge.load(path)


def test_model_is_immutable_and_checks_shapes():
    model = reg.fit_ridge(*_data(t=2), 1.0)
    with pytest.raises(ValueError):
        model.coef[0, 0] = 1.0  # read-only array
    with pytest.raises(ValueError, match="x_mean"):
        reg.FittedRidge(np.zeros((3, 2)), np.zeros(2), np.zeros(4), np.ones(2), np.ones(1))
    with pytest.raises(ValueError, match="expects 6 features"):
        model.predict(np.zeros((2, 5)))


def test_errors_name_the_problem():
    X, Y = _data(n=30, t=2)
    with pytest.raises(ValueError, match="X has 30 rows but Y has 29"):
        reg.nested_cv_ridge(X, Y[:29], GRID, progress=False)
    X_bad = X.copy()
    X_bad[7, 2] = np.nan
    X_bad[9, 0] = np.inf
    with pytest.raises(ValueError, match=r"X: row 7, column 2: non-finite value nan"):
        reg.nested_cv_ridge(X_bad, Y, GRID, progress=False)
    Y_bad = Y.copy()
    Y_bad[4, 1] = -np.inf
    with pytest.raises(ValueError, match=r"Y: row 4, column 1: non-finite value -inf"):
        reg.fit_ridge_cv(X, Y_bad, GRID)
    with pytest.raises(ValueError, match="too few"):
        reg.nested_cv_ridge(X[:8], Y[:8], GRID, n_outer=3, n_inner=3, progress=False)
    with pytest.raises(ValueError, match="alpha_grid: empty"):
        reg.nested_cv_ridge(X, Y, [], progress=False)
    with pytest.raises(ValueError, match=r"alpha_grid: entry 1 is 0\.0"):
        reg.fit_ridge_cv(X, Y, [1.0, 0.0])
    with pytest.raises(ValueError, match="alpha_grid: entry 0 is -1"):
        reg.fit_ridge(X, Y, -1.0)
    with pytest.raises(ValueError, match="n_outer"):
        reg.nested_cv_ridge(X, Y, GRID, n_outer=1, progress=False)
    with pytest.raises(ValueError, match="X: expected a 2-D"):
        reg.fit_ridge(X[:, 0], Y, 1.0)


def test_one_dimensional_y_is_one_target_and_constant_target_follows_sklearn():
    X, Y = _data(t=1)
    model = reg.fit_ridge(X, Y[:, 0], 2.0)
    assert model.coef.shape == (6, 1)
    y_const = np.full(len(X), 3.0)
    assert np.all(reg.r2_per_target(y_const[:, None], y_const[:, None]) == 1.0)
    assert np.all(reg.r2_per_target(y_const[:, None], y_const[:, None] + 1) == 0.0)
    assert r2_score(y_const, y_const + 1) == 0.0


def test_r2_table_equals_nested_cv_per_pair():
    rng = np.random.default_rng(7)
    X1, X2 = rng.normal(size=(60, 5)), rng.normal(size=(60, 8))
    Y = X1 @ rng.normal(size=(5, 3)) + 0.1 * rng.normal(size=(60, 3))
    grid = np.logspace(-2, 3, 11)
    table = reg.r2_table({"x1": X1, "x2": X2}, {"y": Y}, grid, seed=4, progress=False)
    assert len(table) == 6 and set(table["predictor"]) == {"x1", "x2"}
    direct = reg.nested_cv_ridge(X1, Y, grid, outer_seed=4, inner_seed=5, progress=False)
    got = table[table["predictor"] == "x1"].sort_values("dimension")
    np.testing.assert_allclose(got["r2"], direct.r2)
    np.testing.assert_allclose(got["alpha"], np.median(direct.alphas, axis=0))
    assert got["r2"].min() > 0.9


def test_constant_target_column_has_undefined_r2(recwarn):
    """Issue 12, case 10: scikit-learn's convention reports R² = 1 for a constant target
    predicted exactly; the R² of a constant is undefined."""
    X, Y = _data(n=40, t=3, noise=4.0, seed=2)
    Y[:, 1] = 5.0
    with pytest.warns(RuntimeWarning, match=r"target column\(s\) \[1\] are constant"):
        result = reg.nested_cv_ridge(X, Y, GRID, n_outer=3, n_inner=3, progress=False)
    assert np.isnan(result.r2[1]) and np.isnan(result.r2_pooled[1])
    assert np.isnan(result.r2_folds[:, 1]).all()
    assert np.isfinite(result.r2[[0, 2]]).all()


@pytest.mark.parametrize("content", [b"", b"garbage", b"PK\x03\x04truncated"])
def test_unreadable_model_file_names_the_file(tmp_path, content):
    path = tmp_path / "m.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"m.npz: cannot be read as a FittedRidge .npz"):
        reg.FittedRidge.load(path)


def test_nested_cv_scores_is_nested_cv_with_the_seed_convention():
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(60, 5)), rng.normal(size=(60, 2))
    scores = reg.nested_cv_scores(X, Y, GRID, n_outer=3, n_inner=3, seed=4)
    full = reg.nested_cv_ridge(X, Y, GRID, outer_seed=4, inner_seed=5, progress=False)
    np.testing.assert_array_equal(scores.r2, full.r2)
    np.testing.assert_array_equal(scores.alphas, full.alphas)
    assert scores.final_model is None


def test_network_r2_numbers_median_and_minimum_in_percent():
    import statistics

    from dnnalign_utils import keynumbers

    r2 = np.array([0.9, 0.5, 0.7, 0.8])
    numbers = reg.network_r2_numbers(r2)
    expected_names = {k.name for k in keynumbers.KEY_NUMBERS if k.chapter == "03_r2_regression"}
    assert set(numbers) == expected_names
    assert numbers["r2_median"] == pytest.approx(100 * statistics.median(r2.tolist()))
    assert numbers["r2_median"] == pytest.approx(75.0)
    assert numbers["r2_min"] == pytest.approx(50.0)
    # undefined R² (a constant dimension) are left out, as pandas' median/min do
    with_nan = reg.network_r2_numbers([0.9, np.nan, 0.5])
    assert with_nan == pytest.approx({"r2_median": 70.0, "r2_min": 50.0})
    assert all(np.isnan(v) for v in reg.network_r2_numbers([np.nan, np.nan]).values())


def test_network_r2_numbers_of_a_known_linear_map_are_near_100():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(240, 8))
    Y = X @ rng.normal(size=(8, 4))
    result = reg.nested_cv_scores(X, Y, GRID)
    numbers = reg.network_r2_numbers(result.r2)
    assert numbers["r2_min"] > 99.0
    assert numbers["r2_min"] <= numbers["r2_median"] <= 100.0


@pytest.mark.parametrize("bad", [[], [[0.5, 0.6]], [0.5, np.inf], [1.5]])
def test_network_r2_numbers_refuses_what_is_not_r2_per_dimension(bad):
    with pytest.raises(ValueError, match="r2_per_dimension"):
        reg.network_r2_numbers(np.asarray(bad, dtype=float))
