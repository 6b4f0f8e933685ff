"""GCP Secret Manager backend: settings, declaration and its components."""
