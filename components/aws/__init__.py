"""AWS components: ESO's IAM identity, the Secrets Manager containers and key, rotation, network isolation."""
