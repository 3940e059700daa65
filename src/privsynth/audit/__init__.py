"""Privacy audit: targeted membership inference in the TAPAS methodology.

Vocabulary follows TAPAS (Houssiau et al., 2022):

* **threat model** (``threat_model.TargetedMIA``): what is attacked and how the
  attacker's and the evaluator's training sets are drawn;
* **attacker knowledge** (``knowledge.AuxiliaryDataKnowledge``): the auxiliary
  data pool, the target records, the generator as a black box, n and m;
* **attack** (``attacks``): one class per attack, trained on shadow sets and
  scoring evaluation sets (higher score = "the target was in the training set");
* **report** (``report``): per-(target, attack) metrics, aggregates, ROC plot.

``shadow`` (this audit) and ``canary`` (the one-run canary audit) hold the stages
over files that the rules run, through their adapters in ``privsynth.jobs``.
See docs/audit.md.
"""

from .attacks import ATTACKS, Attack, make_attacks
from .knowledge import AuxiliaryDataKnowledge
from .threat_model import AuditProtocol, TargetedMIA

__all__ = ["ATTACKS", "Attack", "AuditProtocol", "AuxiliaryDataKnowledge", "TargetedMIA", "make_attacks"]
