"""AWS Secrets Manager backend: settings, declaration and its components."""
