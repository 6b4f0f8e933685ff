"""GCP components: the Secret Manager containers and ESO's per-secret access through Workload Identity."""
