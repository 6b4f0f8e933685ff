"""What CI needs to run a GCP stack: the inputs of ``.github/actions/stack-credentials`` (Workload Identity Federation)."""

INPUTS: tuple[str, ...] = (
    "gcp-workload-identity-provider",
    "gcp-service-account",
    "gke-cluster-name",
    "gke-cluster-location",
    "gke-cluster-project",
)
