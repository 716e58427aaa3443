"""How the parts see each other: scenario -> model inputs, and (later) model <-> model
exchanges (depth -> road speed, traffic -> unit travel times, hazard -> incidents)."""
