"""Test double: a generator that takes its time (``seconds``), then copies rows."""

import time

from privsynth.generators.base import Generator


class Sleepy(Generator):
    name = "sleepy"

    def fit(self, train, schema, settings, seed):
        time.sleep(settings["seconds"])
        self.train = train

    def sample(self, n):
        return self.train.sample(n=n, replace=True, random_state=0).reset_index(drop=True)


GENERATOR = Sleepy
