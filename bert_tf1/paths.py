"""Where the package's own files are: modules live in subpackages, resources beside this file."""
import os

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# The repository (or site-packages) directory holding the package: outputs record its git revision.
PACKAGE_ROOT = os.path.dirname(PACKAGE_DIR)
RESOURCES_DIR = os.path.join(PACKAGE_DIR, "resources")
