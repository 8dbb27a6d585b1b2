docker image inspect --format '{{.Size}} {{.VirtualSize}}' links:latest && docker images links
