"""What the audits share: statistics, the TAPAS vocabulary (threat model, knowledge, attacks),
the record encoding, record attacks, which cells can be refitted, the skipped-audit row."""
