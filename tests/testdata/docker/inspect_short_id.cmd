docker image inspect --format '{{.Id}}' 85f8dd08026e
