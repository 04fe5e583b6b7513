"""The propensity model on the realistic sample company (territorial.sample, docs/sample.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from territorial.scoring import score_accounts

sample = pytest.importorskip("territorial.sample")


@pytest.mark.slow
def test_sample_company_auc_reaches_the_planted_model() -> None:
    company = sample.generate_company(accounts=6000, reps=20, seed=3)
    run = score_accounts(
        company.accounts,
        reps=company.reps,
        opportunities=company.opportunities,
        activities=company.activities,
    )
    quality = run.quality
    assert quality is not None, run.propensity_skipped
    # The sample's wins follow a known logistic model of account attributes; the best any
    # model can do on the held-out window is that model's own AUC.
    opp = company.opportunities
    closed = opp[opp["is_closed"].astype(bool)]
    test = closed[pd.to_datetime(closed["close_date"]) >= pd.Timestamp(quality.cutoff)]
    truth = pd.Series(np.asarray(sample.win_logit(company.accounts)), index=company.accounts["id"])
    oracle = roc_auc_score(test["is_won"].astype(int), truth.reindex(test["account_id"]).to_numpy())
    assert quality.test_opportunities == len(test)
    assert quality.roc_auc > 0.6
    assert quality.roc_auc > oracle - 0.04
    top = set(run.importance["feature"].head(4))
    assert {"industry", "technology"} <= top
