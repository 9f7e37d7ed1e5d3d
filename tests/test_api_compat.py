"""bert_tf1.run_classifier keeps google-research/bert's names and leading parameters."""
import inspect
import json

from bert_tf1 import run_classifier

from conftest import run_python

# Runs in a fresh process: importing Google's modules defines absl flags.
GOOGLE_SIGNATURES = r"""
import inspect, json
from bert import run_classifier, run_classifier_with_tfhub
out = {}
for name in %r:
    # The hub script's create_model/model_fn_builder (hub handle, not bert_config) are ours.
    module = run_classifier_with_tfhub if name in vars(run_classifier_with_tfhub) \
        and inspect.isfunction(vars(run_classifier_with_tfhub)[name]) and \
        vars(run_classifier_with_tfhub)[name].__module__ == run_classifier_with_tfhub.__name__ \
        else run_classifier
    out[module.__name__ + "." + name] = list(inspect.signature(getattr(module, name)).parameters)
print(json.dumps(out))
""" % (run_classifier.__all__,)


def test_every_google_name_exists_with_the_same_leading_parameters():
    google = json.loads(run_python(["-c", GOOGLE_SIGNATURES]).stdout.strip().splitlines()[-1])
    assert len(google) >= 11
    for qualified, parameters in google.items():
        name = qualified.rsplit(".", 1)[1]
        ours = list(inspect.signature(getattr(run_classifier, name)).parameters)
        assert ours[:len(parameters)] == parameters, (qualified, parameters, ours)


def test_importing_defines_no_flags():
    code = ("from absl import flags; import bert_tf1.run_classifier; "
            "print(sorted(k for k in flags.FLAGS if k in ('data_dir', 'task_name')))")
    assert run_python(["-c", code]).stdout.strip().splitlines()[-1] == "[]"


FLAG_DEFAULTS = r"""
import json, sys
from absl import flags
modules = sys.argv[1].split(",")
for module in modules:
    __import__(module)
out = {}
for module_name, module_flags in flags.FLAGS.flags_by_module_dict().items():
    if any(module_name.endswith(m.rsplit(".", 1)[-1]) for m in modules):
        for flag in module_flags:
            out[flag.name] = flag.default
print(json.dumps(out))
"""


def flag_defaults(modules):
    result = run_python(["-c", FLAG_DEFAULTS, ",".join(modules)])
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cli_flags_are_a_superset_of_googles_with_the_same_defaults():
    google = flag_defaults(["bert.run_classifier", "bert.run_classifier_with_tfhub"])
    assert {"task_name", "bert_hub_module_handle", "init_checkpoint", "num_tpu_cores"} <= set(
        google)
    ours = json.loads(run_python(["-c", (
        "import json; from absl import flags; "
        "from bert_tf1.cli import run_classifier_hub as cli; cli.define_flags(); "
        "print(json.dumps({n: flags.FLAGS[n].default for n in flags.FLAGS}))")]
    ).stdout.strip().splitlines()[-1])
    missing = sorted(set(google) - set(ours))
    assert not missing, "flags of google-research/bert missing: %s" % missing
    different = {name: (google[name], ours[name]) for name in google
                 if google[name] != ours[name]}
    assert not different, "defaults differ (google, ours): %s" % different
