docker images --format '{{.Nope}}'
