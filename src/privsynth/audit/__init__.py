"""Privacy audits, one package per audit, what they share in ``common``:

* ``shadow``: the shadow-model audit, targeted membership inference in the TAPAS methodology
  (``plan``: which cells; ``stages``: the rules' stages over files; ``report``: metrics per
  (target, attack), aggregates, ROC plot; ``stats``: its bootstrap, matched comparisons,
  threshold rules and the rule's epsilon bound);
* ``one_run``: the one-run canary audit, Steinke, Nasr & Jagielski 2023 (``plan``, ``stages``;
  ``method``: protocol, canaries, guesses, evaluation; ``layout``: the audit training set;
  ``bounds``: the guessing game's epsilon bound; ``fdp``: its Gaussian-DP bound; ``verdict``);
* ``nobox``: the no-box section of files made elsewhere (``plan``, ``measures``);
* ``common``: ``stats`` (AUC, Clopper-Pearson, the 3/FPR rule, the TPR-at-FPR result),
  ``cells`` (which cells can be refitted), ``skipped`` (the summary row of a cell without an
  audit), ``record_attacks`` (one score per record from one synthetic output: one-run and
  no-box), and the TAPAS vocabulary (Houssiau et al., 2022):

  * **threat model** (``common.threat_model.TargetedMIA``): what is attacked and how the
    attacker's and the evaluator's training sets are drawn;
  * **attacker knowledge** (``common.knowledge.AuxiliaryDataKnowledge``): the auxiliary
    data pool, the target records, the generator as a black box, n and m;
  * **attack** (``common.attacks``): one class per attack, trained on shadow sets and
    scoring evaluation sets (higher score = "the target was in the training set").

Their report sections are ``privsynth.report.one_run`` and ``privsynth.report.nobox``; the rules
run the stages through their adapters in ``privsynth.jobs``.  See docs/audit.md.
"""

from .common.attacks import ATTACKS, Attack, make_attacks
from .common.knowledge import AuxiliaryDataKnowledge
from .common.threat_model import AuditProtocol, TargetedMIA

__all__ = ["ATTACKS", "Attack", "AuditProtocol", "AuxiliaryDataKnowledge", "TargetedMIA", "make_attacks"]
