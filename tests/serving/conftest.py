"""Fixtures of tests/serving: the shared trained runs (see serving_helpers.TrainedRuns)."""
import pytest
from serving_helpers import TrainedRuns


@pytest.fixture(scope="session")
def trained(tiny_hub_module, tmp_path_factory):
    """Tiny runs (pooled, mean, frozen_mlp, pair, regression), trained and exported on first use
    and shared by every serving test module."""
    return TrainedRuns(tiny_hub_module, str(tmp_path_factory.mktemp("serving")))
