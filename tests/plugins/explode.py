"""Test double: a generator that fails in fit, to exercise the failure path."""

from privsynth.errors import GeneratorError
from privsynth.generators.base import Generator


class Explode(Generator):
    name = "explode"

    def fit(self, train, schema, settings, seed):
        raise GeneratorError(f"explode: {settings['message']}")

    def sample(self, n):
        raise AssertionError("unreachable")


GENERATOR = Explode
