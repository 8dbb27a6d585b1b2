docker image inspect --format '{{.Id}}' f5455b23f29e
