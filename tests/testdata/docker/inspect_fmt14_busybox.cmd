docker image inspect --format '{{.Created}}' busybox:latest
