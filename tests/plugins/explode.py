"""Test double: a generator that fails in fit, to exercise the failure path.

``kill: true`` makes the job die the way the out-of-memory killer ends one:
SIGKILL, so it can write no error at all.
"""

import os
import signal
import tempfile

from privsynth.errors import GeneratorError
from privsynth.generators.base import Generator


class Explode(Generator):
    name = "explode"

    def fit(self, train, schema, settings, seed):
        if settings.get("kill"):
            tempfile.mkdtemp(prefix="privsynth-explode-")  # scratch space left behind
            os.kill(os.getpid(), signal.SIGKILL)
        raise GeneratorError(f"explode: {settings['message']}")

    def sample(self, n):
        raise AssertionError("unreachable")


GENERATOR = Explode
