"""bert_tf1: BERT text classification on the original TF 1.15 / TF Hub 0.7 stack."""
import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def read_version():
    with open(os.path.join(HERE, "bert_tf1", "version.py")) as handle:
        namespace = {}
        exec(handle.read(), namespace)  # pylint: disable=exec-used
        return namespace["__version__"]


setup(
    name="bert_tf1",
    version=read_version(),
    description="Reproduction kit for BERT text classification on TensorFlow 1.15 + TF Hub 0.7",
    long_description=open(os.path.join(HERE, "README.md")).read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(exclude=("tests", "tests.*")),
    package_data={"bert_tf1": ["resources/*.txt", "resources/recipes/*.json"]},
    python_requires=">=3.7.1,<3.8",  # the lock is 3.7's (pandas 1.3.5 needs 3.7.1)
    # Ranges, not pins: requirements-tf1.txt is the lock (tests/test_packaging.py checks that every
    # pin in the lock satisfies these ranges).
    install_requires=[
        "tensorflow>=1.15,<1.16",
        "tensorflow-estimator>=1.15,<1.16",
        "tensorflow-hub>=0.7,<0.8",
        "bert-tensorflow>=1.0.4,<1.1",
        "numpy>=1.16,<1.19",
        "protobuf>=3.8,<4",
        "absl-py>=0.9",
        "pandas>=1.1,<1.4",
        "scikit-learn>=0.24,<1.1",
        "tqdm>=4.40",
        "matplotlib>=3.1,<3.6",
        "tokenizers>=0.10,<0.14",
        "waitress>=2.0,<3",
        "Werkzeug>=2.0,<3",
    ],
    entry_points={
        "console_scripts": [
            "bert-tf1-make-tiny=bert_tf1.cli.make_tiny:run",
            "bert-tf1-export-hub=bert_tf1.cli.export_hub:run",
            "bert-tf1-run-classifier=bert_tf1.cli.run_classifier_hub:run",
            "bert-tf1-from-hf=bert_tf1.cli.from_hf:run",
            "bert-tf1-to-hf=bert_tf1.cli.to_hf:run",
            "bert-tf1-get-data=bert_tf1.cli.get_data:run",
            "bert-tf1-create-pretraining-data=bert_tf1.cli.create_pretraining_data:run",
            "bert-tf1-run-pretraining=bert_tf1.cli.run_pretraining:run",
            "bert-tf1-further-pretrain=bert_tf1.cli.further_pretrain:run",
            "bert-tf1-reproduce=bert_tf1.cli.reproduce:run",
            "bert-tf1-get-weights=bert_tf1.cli.get_weights:run",
            "bert-tf1-export=bert_tf1.cli.export:run",
            "bert-tf1-predict=bert_tf1.cli.predict:run",
            "bert-tf1-serve=bert_tf1.cli.serve:run",
            "bert-tf1-launch-local=bert_tf1.cli.launch_local:run",
            "bert-tf1-report=bert_tf1.cli.report:run",
        ],
    },
    classifiers=[
        "Programming Language :: Python :: 3.7",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
